"""Load a scenario file: YAML with line numbers, referenced files resolved, one clear error for a mistake.

Every user mistake becomes an `InputError` naming file, line, field, expected and got. Nothing is built until the
whole scenario, with its profile, config.properties and trace, has validated.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ValidationError

from twin.config import bundled, controllers, feasibility, manifests, properties, trace
from twin.config.reading import Lines, read_documents, read_yaml
from twin.config.schema import ModelConfig, ModelProfile, Scenario
from twin.errors import InputError

_WORKLOAD_TAGS = {"closed", "poisson", "steps", "bursts", "diurnal", "trace"}
_NAMED = re.compile(r"^Value error, (?P<field>[\w./-]+): (?P<expected>.*), got (?P<got>.*)$", re.DOTALL)


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """The validated scenario in `path`; `overrides` maps dotted field paths to values (CLI flags, sweeps).

    A numeric part indexes a list (`workload.0.users`); a path through `manifest.object` reaches into a manifest
    that the scenario names by file (`autoscaling.keda.manifest.object.spec.triggers.0.metadata.threshold`)."""
    path = Path(path)
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError(str(path), "", "a mapping of scenario fields", type(data).__name__, 1)
    if isinstance(data.get("workload"), dict):
        data["workload"] = [data["workload"]]  # one group or many, as the schema reads it: `workload.0` either way
    into_manifests = {k: v for k, v in (overrides or {}).items() if ".manifest.object." in k}
    _override(data, {k: v for k, v in (overrides or {}).items() if k not in into_manifests}, path)
    base = path.parent
    data["model"] = _resolve_model(data.get("model"), base, path, lines)
    _resolve_deployment_manifest(data, base, path, lines)
    _resolve_torchserve(data, base, path, lines)
    _resolve_traces(data, base, path, lines)
    _resolve_autoscaler_manifests(data, base, path, lines)
    _override(data, into_manifests, path)
    scenario = validate(Scenario, data, source=str(path), lines=lines)
    controllers.check(scenario, str(path), lines)
    feasibility.check(scenario, str(path), lines)
    return scenario


def read_objects(path: Path) -> list[Any]:
    """Every object in a manifest file: one document, a multi-document stream or a `kind: List`, flattened."""
    return manifests.objects(read_documents(path))


def validate(model: type[BaseModel], data: Any, *, source: str, lines: Lines, prefix: tuple = ()) -> Any:
    """`model` validated from `data`, or the first problem as an InputError with its line."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _input_error(error, source, lines, prefix) from None


def _input_error(error: ValidationError, source: str, lines: Lines, prefix: tuple) -> InputError:
    errors = error.errors(include_url=False)
    # a misspelt field also shows up as a missing one: name the misspelling, it is the cause
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = _data_path(first["loc"], lines, prefix)
    kind, message, context = first["type"], first["msg"], first.get("ctx", {})
    if kind == "union_tag_invalid":
        loc = loc + (context["discriminator"].strip("'"),)
    field = ".".join(str(part) for part in loc)
    if kind == "union_tag_invalid":
        expected, got = f"one of {context['expected_tags']}", repr(context["tag"])
    elif kind == "missing":
        expected, got = "a value (the field is required)", "nothing"
    elif kind == "extra_forbidden":
        expected, got = "a known field (check the spelling)", f"unknown field {loc[-1]!r}"
    elif (named := _NAMED.match(message)) and isinstance(first.get("input"), dict):
        # a rule across fields names the field it blames: "stop_s: after start_s (5 s), got 3"
        loc = loc + tuple(int(p) if p.isdigit() else p for p in named["field"].split("."))
        field, expected, got = ".".join(str(part) for part in loc), named["expected"], named["got"]
    else:
        expected = message.removeprefix("Value error, ").removeprefix("Input should be ")
        got = repr(first.get("input")) if not isinstance(first.get("input"), dict) else "a mapping"
    return InputError(source, field, expected, got, _nearest_line(loc, lines))


def _data_path(loc: tuple, lines: Lines, prefix: tuple) -> tuple:
    """Pydantic's location as a path in the document: without union tags, and without the list index that a
    single workload mapping gets when it is wrapped into a list."""
    path = prefix
    for part in loc:
        if isinstance(part, str) and part in _WORKLOAD_TAGS and path + (part,) not in lines:
            continue
        if isinstance(part, int) and path + (part,) not in lines and path in lines:
            continue
        path = path + (part,)
    return path


def _nearest_line(loc: tuple, lines: Lines) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _override(data: dict, overrides: Mapping[str, Any], source: Path) -> None:
    for dotted, value in overrides.items():
        _set_path(data, dotted.split("."), value, source=source, dotted=dotted)


def _set_path(data: Any, keys: list[str], value: Any, *, source: Path, dotted: str) -> None:
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(data, list):
            if not key.isdigit() or int(key) >= len(data):
                raise InputError(str(source), dotted, f"an index below {len(data)} at {key!r}", key)
            if last:
                data[int(key)] = value
            else:
                data = data[int(key)]
        elif isinstance(data, dict):
            if last:
                data[key] = value
            else:
                data = data.setdefault(key, {})
        else:
            raise InputError(str(source), dotted, f"a mapping or list at {key!r}", type(data).__name__)


def _resolve_model(model: Any, base: Path, source: Path, lines: Lines) -> Any:
    """An inline profile as is; `{profile: FILE, **overrides}` as the file's profile with the overrides applied."""
    if not isinstance(model, dict) or "profile" not in model:
        return model
    overrides = {k: v for k, v in model.items() if k != "profile"}
    profile_path = base / str(model["profile"])
    if not profile_path.is_file():
        profile_path = bundled.profile_file(str(model["profile"]))
    if profile_path is None:
        raise InputError(str(source), "model.profile", "a profile file or a bundled profile: "
                         + ", ".join(bundled.profile_names()), repr(str(model["profile"])),
                         lines.get(("model", "profile")))
    profile_data, profile_lines = read_yaml(profile_path)
    if isinstance(profile_data, dict) and "profile" in profile_data:
        profile_data = profile_data["profile"]  # calibrated files keep provenance beside the profile
        profile_lines = {key[1:]: line for key, line in profile_lines.items() if key[:1] == ("profile",)}
    validate(ModelProfile, profile_data, source=str(profile_path), lines=profile_lines)
    merged = {**profile_data, **overrides}
    validate(ModelProfile, merged, source=str(source), lines=lines, prefix=("model",))
    return merged


def _resolve_torchserve(data: dict, base: Path, source: Path, lines: Lines) -> None:
    """Fill the model config from a referenced config.properties; fields written in the scenario win."""
    torchserve = (data.get("deployment") or {}).get("torchserve") or {}
    reference = torchserve.get("config_properties")
    if not reference:
        return
    path = base / str(reference)
    if not path.is_file():
        raise InputError(str(source), "deployment.torchserve.config_properties", "an existing config.properties",
                         repr(str(reference)), lines.get(("deployment", "torchserve", "config_properties")))
    from_file, file_lines = properties.model_settings(path)
    validate(ModelConfig, from_file, source=str(path), lines=file_lines)  # the file's own mistakes name the file
    torchserve["model"] = {**from_file, **(torchserve.get("model") or {})}
    torchserve["config_properties"] = str(path)


def _resolve_traces(data: dict, base: Path, source: Path, lines: Lines) -> None:
    groups = data.get("workload")
    for index, group in enumerate(groups if isinstance(groups, list) else [groups]):
        if isinstance(group, dict) and group.get("type") == "trace" and "path" in group:
            line = lines.get(("workload", index, "path"), lines.get(("workload", "path")))  # a list, or one group
            group["path"] = str(base / str(group["path"]))
            trace.read_timestamps(Path(group["path"]), str(group.get("column", "timestamp")),
                                  referenced_from=(str(source), line))


def _read_manifest(reference: Any, base: Path, source: Path, field: tuple, lines: Lines, *, kind: str,
                   target: str | None) -> tuple[Any, str]:
    """The object of `kind` in the file `reference` names (scaling `target`, when the file holds several)."""
    path = base / str(reference)
    if not path.is_file():
        raise InputError(str(source), ".".join(map(str, field)), "an existing manifest file", repr(str(reference)),
                         lines.get(field))
    return manifests.pick(read_objects(path), kind, str(path), target=target), str(path)


def _resolve_deployment_manifest(data: dict, base: Path, source: Path, lines: Lines) -> None:
    """`deployment.manifest: FILE` fills name, pods, resources and node pool; fields written beside it win."""
    deployment = data.get("deployment")
    if not isinstance(deployment, dict) or "manifest" not in deployment:
        return
    manifest, where = _read_manifest(deployment.pop("manifest"), base, source, ("deployment", "manifest"), lines,
                                     kind="Deployment", target=deployment.get("name"))
    pools = [p.get("name") for p in data.get("node_pools") or [] if isinstance(p, dict)]
    data["deployment"] = {**manifests.deployment_fields(manifest, where, pools), **deployment}


def _resolve_autoscaler_manifests(data: dict, base: Path, source: Path, lines: Lines) -> None:
    autoscaling = data.get("autoscaling")
    if not isinstance(autoscaling, dict):
        return
    deployment = data.get("deployment")
    target = deployment.get("name") if isinstance(deployment, dict) else None  # the one they scale, among several
    for kind, manifest_kind in (("hpa", "HorizontalPodAutoscaler"), ("keda", "ScaledObject"),
                                ("vpa", "VerticalPodAutoscaler")):
        section = autoscaling.get(kind)
        manifest = section.get("manifest") if isinstance(section, dict) else None
        if isinstance(manifest, str):
            manifest = {"path": manifest}
        field = ("autoscaling", kind, "manifest")
        if isinstance(manifest, dict) and manifest.get("path") and manifest.get("object") is None:
            manifest["object"], manifest["source"] = _read_manifest(manifest["path"], base, source, field, lines,
                                                                    kind=manifest_kind, target=target)
        elif isinstance(manifest, dict) and "source" not in manifest:  # inline: its errors name the scenario
            manifest["source"] = f"{source}: {'.'.join(field)}.object"
        if manifest is not None:
            section["manifest"] = manifest
    _resolve_placeholder_manifests(autoscaling, base, source, lines)


def _resolve_placeholder_manifests(autoscaling: dict, base: Path, source: Path, lines: Lines) -> None:
    """`autoscaling.cluster.placeholders`: the PriorityClass and the Deployment, from one file or two."""
    cluster = autoscaling.get("cluster")
    section = cluster.get("placeholders") if isinstance(cluster, dict) else None
    if not isinstance(section, dict):
        return
    for key, kind in (("priority_class", "PriorityClass"), ("deployment", "Deployment")):
        manifest = section.get(key)
        if isinstance(manifest, str):
            manifest = section[key] = {"path": manifest}
        if isinstance(manifest, dict) and manifest.get("path") and manifest.get("object") is None:
            field = ("autoscaling", "cluster", "placeholders", key)
            manifest["object"], manifest["source"] = _read_manifest(manifest["path"], base, source, field, lines,
                                                                    kind=kind, target=None)
