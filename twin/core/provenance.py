"""Where a scenario's model profile came from, read from the profile file's `provenance:` (calibration writes it):
the fields that were assumed rather than calibrated, and runs the fit misses by more than calibration's targets.

A profile written inline, or a file without provenance, is hand-set: every field of it is an assumption.
Fields the scenario sets itself (`model: {profile: FILE, gpu_ms: 3}`) are the user's, not assumed.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from twin.config.reading import read_yaml
from twin.config.schema import ModelProfile

TARGETS = {"throughput_rps": 0.10, "avg_response_ms": 0.15}  # servetwin check's leave-one-out targets
LOO_TABLE = "check-loo.txt"  # `servetwin check` output kept beside the bundled profiles
_LOO_ROW = re.compile(r"^(\S+)\s+[\d.]+\s+[\d.]+\s+([+-][\d.]+)\s+[\d.]+\s+[\d.]+\s+([+-][\d.]+)\s*$")


def warnings(scenario_path: Path, overrides: Mapping[str, Any] | None = None) -> list[dict]:
    """Warnings about the profile a scenario file uses: assumed fields, large fit errors."""
    data, _ = read_yaml(Path(scenario_path))
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict):
        return []
    reference = (overrides or {}).get("model.profile", model.get("profile"))
    own = {k for k in model if k != "profile"} | {k.split(".", 1)[1] for k in overrides or {} if k.startswith("model.")}
    if reference is None:
        return [_hand_set("the inline profile", set())]
    path = Path(scenario_path).parent / str(reference)
    document, _ = read_yaml(path)
    provenance = document.get("provenance") if isinstance(document, dict) else None
    if not isinstance(provenance, dict):
        return [_hand_set(f"profile {reference}", own)]
    found = [_assumed(f"profile {reference}", assumed_fields(provenance) - own)]
    found += [_fit(reference, run, errors, "in-sample") for run, errors in in_sample_errors(provenance).items()]
    found += [_fit(reference, run, errors, "leave-one-out")
              for run, errors in held_out_errors(path, provenance).items()]
    return [w for w in found if w is not None]


def _fields() -> set[str]:
    return set(ModelProfile.model_fields) - {"name", "device"}


def assumed_fields(provenance: dict) -> set[str]:
    """Fields the provenance marks as assumed: its `assumed` list, memory it estimated, parameters the runs did not
    identify, and what it held fixed."""
    found = {_name(item) for item in provenance.get("assumed") or []}
    found |= {str(note).split()[0] for note in provenance.get("memory") or [] if "estimated" in str(note)}
    found |= {name for name, entry in (provenance.get("parameters_95pct") or {}).items()
              if isinstance(entry, dict) and "note" in entry}
    fixed = str(provenance.get("fixed") or "")
    found |= {name for name in _fields() if re.search(rf"\b{name}\b", fixed)}
    return found & _fields()


def _name(item: Any) -> str:
    """An `assumed` entry: a field name, "field: why", or {field: ..., ...}."""
    if isinstance(item, dict):
        return str(item.get("field") or item.get("name") or next(iter(item), ""))
    return str(item).split(":")[0].split()[0] if str(item).strip() else ""


def in_sample_errors(provenance: dict) -> dict[str, dict[str, float]]:
    """Relative error per fitted run and quantity, from `fit_quality.runs_of_this_profile` ([measured, predicted])."""
    runs = (provenance.get("fit_quality") or {}).get("runs_of_this_profile") or {}
    return {run: {q: pair[1] / pair[0] - 1 for q, pair in quantities.items() if q in TARGETS and pair[0]}
            for run, quantities in runs.items()}


def held_out_errors(profile_path: Path, provenance: dict) -> dict[str, dict[str, float]]:
    """The leave-one-out errors of this profile's runs, from `servetwin check`'s table beside the profile."""
    table = profile_path.parent / LOO_TABLE
    runs = (provenance.get("fit_quality") or {}).get("runs_of_this_profile") or {}
    if not table.is_file():
        return {}
    found = {}
    for line in table.read_text().splitlines():
        match = _LOO_ROW.match(line)
        if match and match.group(1) in runs:
            found[match.group(1)] = {"throughput_rps": float(match.group(2)) / 100,
                                     "avg_response_ms": float(match.group(3)) / 100}
    return found


def _assumed(what: str, fields: set[str]) -> dict | None:
    if not fields:
        return None
    return {"code": "assumed_fields",
            "message": f"{what}: assumed, not calibrated: {', '.join(sorted(fields))}"}


def _hand_set(what: str, own: set[str]) -> dict:
    kept = f" (the scenario sets {', '.join(sorted(own))})" if own else ""
    return {"code": "assumed_fields", "message": f"{what} has no calibration provenance: every field is hand-set, "
                                                 f"assumed rather than calibrated{kept}"}


def _fit(reference: str, run: str, errors: dict[str, float], kind: str) -> dict | None:
    over = {q: e for q, e in errors.items() if abs(e) > TARGETS[q]}
    if not over:
        return None
    listed = ", ".join(f"{q} {100 * e:+.0f} % (target ±{100 * TARGETS[q]:.0f} %)" for q, e in over.items())
    return {"code": "fit_error_large", "message": f"profile {reference}: the {kind} error on run {run} is large: "
                                                  f"{listed}"}
