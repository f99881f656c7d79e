"""A scenario from what a platform engineer has: the cluster's objects (`kubectl get deploy,hpa,scaledobject,nodes
-o yaml`, `helm template` output), TorchServe's config.properties and a model profile.

What the objects say is taken as they say it; what they cannot say (traffic, prices, the model's service demands,
Prometheus adapter rules) is assumed, and every assumption is returned as one line naming the field, so that
`servetwin import` can print them and head the written scenario with them.

Fidelity ledger — upstream: Kubernetes v1.30 apps/v1 Deployment (replicas, the serving container's resources and
readinessProbe, nodeSelector, tolerations, terminationGracePeriodSeconds), autoscaling/v2 HorizontalPodAutoscaler,
KEDA v2 ScaledObject, TorchServe 0.12 config.properties. Modelled: one Deployment and the one HPA or ScaledObject
scaling it (HPAs that KEDA generated are skipped), node pools (twin.importer.nodes). Not modelled: several models in
one TorchServe, init containers and sidecars' resources, PodDisruptionBudgets, Cluster Autoscaler settings.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

import yaml

from twin.config import manifests
from twin.errors import InputError
from twin.importer import nodes as node_import

_MODEL_SELECTOR = re.compile(r'model_name\s*=~?\s*"([^"]+)"')
# PromQL fed to an HPA metric by a Prometheus adapter rule: not in any object the cluster returns.
_ADAPTER_SOURCES = {"Pods": "pods", "Object": "object", "External": "external"}


@dataclass(frozen=True)
class Imported:
    data: dict[str, Any]  # the scenario, as YAML would hold it
    assumptions: list[str]  # one line each: the field, what was assumed, and why


def scenario(objects: list[tuple[str, Any]], *, profile: str, config_properties: str | None,
             deployment: str | None, duration_s: float, workers: int | None) -> Imported:
    """The scenario the objects describe (each paired with the file it came from); `profile` and
    `config_properties` are written as given (paths relative to the scenario, or a bundled profile's name);
    `workers` is the pods' TorchServe workers as config.properties sets them, if it does."""
    notes: list[str] = []
    source, chosen = _deployment(objects, deployment, notes)
    template = manifests.pod_spec(chosen, source)
    pools = node_import.node_pools(_of_kind(objects, "Node"), template, notes)
    fields = _deployment_fields(chosen, source, template, [p["name"] for p in pools], config_properties, notes)
    data: dict[str, Any] = {
        "name": manifests.name_of(chosen), "description": f"imported from {_sources(objects)}", "seed": 1,
        "duration_s": duration_s, "node_pools": pools, "deployment": fields, "model": {"profile": profile},
        "workload": _workload(chosen, workers, duration_s, notes),
    }
    autoscaling = _autoscaling(objects, manifests.name_of(chosen), notes)
    if autoscaling:
        data["autoscaling"] = autoscaling
    _name_the_model(data, config_properties, notes)
    return Imported(data, notes)


def _deployment(objects: list[tuple[str, Any]], name: str | None, notes: list[str]) -> tuple[str, dict]:
    """The TorchServe Deployment: the one named, the only one, or the only one whose image is TorchServe's."""
    found = _of_kind(objects, "Deployment")
    if name is not None:
        found = [(s, d) for s, d in found if manifests.name_of(d) == name]
    serving = [(s, d) for s, d in found if _runs_torchserve(d)]
    if len(found) > 1 and len(serving) == 1:
        notes.append(f"deployment: {manifests.name_of(serving[0][1])}, the one Deployment running a TorchServe "
                     f"image (--deployment picks another)")
        return serving[0]
    if len(found) == 1:
        return found[0]
    where = _sources(objects)
    if not found:
        raise InputError(where, "kind", "a Deployment" + (f" named {name!r}" if name else ""),
                         ", ".join(sorted({str(o.get('kind')) for _, o in objects if isinstance(o, dict)})))
    names = ", ".join(repr(manifests.name_of(d)) for _, d in found)
    raise InputError(where, "kind", "one TorchServe Deployment (name it with --deployment)", names)


def _deployment_fields(manifest: dict, source: str, template: dict, pools: list[str], config_properties: str | None,
                       notes: list[str]) -> dict[str, Any]:
    fields = manifests.deployment_fields(manifest, source, pools)
    if "replicas" not in manifest["spec"]:
        notes.append("deployment.pods: 1, Kubernetes' default, as spec.replicas is not set (an autoscaler sets it in "
                     "the cluster)")
    container = manifests.serving_container(template)
    if len(template["containers"]) > 1:
        notes.append(f"deployment.resources: those of container {container.get('name')!r}; the other containers' "
                     f"are not counted")
    fields["startup"] = _startup(template, container, notes)
    if config_properties is not None:
        fields["torchserve"] = {"config_properties": config_properties}
    else:
        notes.append("deployment.torchserve.model: TorchServe's defaults as the schema holds them (1 worker, batch "
                     "1): pass --config-properties to read yours")
    return fields


def _startup(template: dict, container: dict, notes: list[str]) -> dict[str, Any]:
    startup: dict[str, Any] = {"termination_grace_s": template.get("terminationGracePeriodSeconds", 30)}
    probe = container.get("readinessProbe")
    if probe is None:
        notes.append("deployment.startup.readiness: the container has no readinessProbe (Kubernetes then counts it "
                     "ready once started); the twin's /ping check stands in")
    else:
        startup["readiness"] = {"check": "ping", "initial_delay_s": probe.get("initialDelaySeconds", 0),
                                "period_s": probe.get("periodSeconds", 10)}
        path = (probe.get("httpGet") or {}).get("path")
        if path != "/ping":
            notes.append(f"deployment.startup.readiness.check: ping, for the probe of {path or 'a non-HTTP check'}")
    notes.append("deployment.startup: image pull, container and frontend start times are the schema's defaults")
    return startup


def _workload(manifest: dict, workers: int | None, duration_s: float, notes: list[str]) -> dict[str, Any]:
    users = max(1, int(manifest["spec"].get("replicas", 1)) * (workers or 1))
    notes.append(f"workload: {users} closed-loop users without think time (one per worker), 10 s ramp-up, "
                 f"{duration_s:g} s: the manifests say nothing of traffic; put yours here")
    return {"type": "closed", "users": users, "ramp_up_s": 10, "think_time_s": 0}


def _autoscaling(objects: list[tuple[str, Any]], target: str, notes: list[str]) -> dict[str, Any]:
    """The ScaledObject or HPA scaling the Deployment, as its cluster holds it (status and bookkeeping dropped)."""
    scaled = [o for _, o in _of_kind(objects, "ScaledObject") if manifests.target_name(o) == target]
    hpas = [o for _, o in _of_kind(objects, "HorizontalPodAutoscaler")
            if manifests.target_name(o) == target and not manifests.owned_by_keda(o)]
    if not scaled and not hpas:
        notes.append("autoscaling: nothing scales the Deployment; its pods stay as many as spec.replicas")
        return {}
    chosen, *others = scaled + hpas
    for other in others:
        notes.append(f"autoscaling: {other['kind']} {manifests.name_of(other)} left out; the twin runs "
                     f"{chosen['kind']} {manifests.name_of(chosen)}, as one autoscaler scales a Deployment")
    if chosen["kind"] == "ScaledObject":
        return {"keda": {"manifest": {"object": _clean(chosen)}}}
    _note_adapter_metrics(chosen, notes)
    return {"hpa": {"manifest": {"object": _clean(chosen)}}}


def _note_adapter_metrics(hpa: dict, notes: list[str]) -> None:
    for metric in (hpa.get("spec") or {}).get("metrics") or []:
        key = _ADAPTER_SOURCES.get(metric.get("type"))
        if key is not None:
            name = ((metric.get(key) or {}).get("metric") or {}).get("name")
            notes.append(f"autoscaling.hpa.queries.{name}: no PromQL known for this {metric['type']} metric (a "
                         f"Prometheus adapter rule serves it in the cluster): the HPA sees no value until it is set")


def _name_the_model(data: dict, config_properties: str | None, notes: list[str]) -> None:
    """Without config.properties to name the model, a trigger's model_name selector does: the twin's series must
    carry the name the cluster's queries select."""
    if config_properties is not None:
        return
    named = _MODEL_SELECTOR.search(str(data.get("autoscaling", {})))
    if named:
        data["model"]["name"] = named.group(1)
        notes.append(f"model.name: {named.group(1)!r}, the model_name the autoscaler's query selects, for the "
                     f"twin's series to carry it")


def _clean(manifest: dict) -> dict[str, Any]:
    metadata = manifest.get("metadata") or {}
    return {"apiVersion": manifest.get("apiVersion"), "kind": manifest.get("kind"),
            "metadata": {k: metadata[k] for k in ("name", "namespace") if k in metadata},
            "spec": manifest.get("spec") or {}}


def _of_kind(objects: list[tuple[str, Any]], kind: str) -> list[tuple[str, dict]]:
    return [(s, o) for s, o in objects if isinstance(o, dict) and o.get("kind") == kind]


def _runs_torchserve(deployment: dict) -> bool:
    template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return any("torchserve" in str(c.get("image", "")) for c in template.get("containers") or [] if isinstance(c, dict))


def _sources(objects: list[tuple[str, Any]]) -> str:
    return ", ".join(dict.fromkeys(s for s, _ in objects))


def render(imported: Imported) -> str:
    """The scenario as YAML under a comment header listing every assumption."""
    sources = imported.data["description"].removeprefix("imported from ")
    header = textwrap.wrap(f"Imported by `servetwin import` from {sources}.", 116)
    header.append("What it assumed, where the inputs could not say, and what it left out (edit a field to change it):")
    for line in imported.assumptions:
        header += textwrap.wrap(line, 112, initial_indent="  - ", subsequent_indent="    ")
    comments = "".join(f"# {line}\n" for line in header)
    return comments + yaml.safe_dump(imported.data, sort_keys=False, width=116)
