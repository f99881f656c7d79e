"""The cluster's own autoscalers, read from the API and turned into the twin's scenario sections.

Shadow runs them in its forward runs (so a prediction that spans one of their scale events is fair) and a snapshot
writes them beside the observed state; the twin takes the manifests as they are (twin/config/manifests.py).

Fidelity ledger (upstream: Kubernetes 1.33 kube-controller-manager, KEDA 2.20, VPA 1.x):
- Read: HPAs (autoscaling/v2), ScaledObjects (keda.sh/v1alpha1) and VPAs (autoscaling.k8s.io/v1) of the namespace
  whose `scaleTargetRef` (`targetRef` for a VPA) names the Deployment; an HPA that KEDA generated for a ScaledObject
  (owned by it, `keda-hpa-<name>`) is KEDA's and is not counted a second time.
- Kept: what a manifest holds (apiVersion, kind, metadata name/namespace/labels/annotations — KEDA's pause
  annotations live there — and spec); dropped: status and what the API server adds (uid, resourceVersion,
  managedFields, kubectl's last-applied annotation).
- Not in the API, so the twin's upstream defaults stand in: the HPA controller's flags (sync period 15 s, tolerance
  0.1, downscale stabilization 300 s: `RecommendedDefaultHPAControllerConfiguration` in kubernetes/kubernetes
  `pkg/controller/podautoscaler/config/v1alpha1/defaults.go`, as twin/policies/hpa uses them), and the metrics
  adapter's rules for Pods/Object/External metrics, which the live settings name as PromQL
  (`cluster.metric_queries`).
- VPAs run as the scenario's `autoscaling.vpa` where the twin has a VPA policy (twin/policies/vpa); without one they
  are read and carried (a snapshot writes them beside), not run.
- Not modelled: the HPA's recommendations and scale events before the forward run. Its HPA starts as a restarted
  controller does (upstream `reconcileAutoscaler` records the current count at the first sync, as
  twin/policies/hpa/sync.py does), so it holds a scale-down for a whole stabilization window from its first sync,
  where the cluster's may already be part-way through one: a predicted scale-down can come late, never early.
  Likewise KEDA's `status.lastActiveTime`: the forward run's ScaledObject was never active and created at its t=0,
  so with minReplicaCount 0 and triggers that read inactive it scales to zero at its first poll (after
  initialCooldownPeriod, default 0), where the cluster's waits out cooldownPeriod from its last activity.
  Also not modelled: the HPA sync phase (the twin's controllers start at a seeded random phase), two autoscalers of
  one kind on one Deployment (upstream's HPA controller refuses to act, AmbiguousSelector; here an error names
  them), and the metrics history: the forward run's Prometheus starts empty, so a query over a long range
  (`rate(...[1m])`) sees only the forward run's own samples during its first window (the cluster's sees the minute
  before).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from twin.config.control import Autoscaling
from twin.config.manifests import owned_by_keda
from twin.errors import InputError

_KEPT_METADATA = ("name", "namespace", "labels", "annotations")
_SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
VPA_RUNS = "vpa" in Autoscaling.model_fields  # the twin has a VPA policy (twin/policies/vpa) to run them with


@dataclass(frozen=True)
class ClusterControllers:
    deployment: str
    hpas: tuple[dict, ...] = ()
    scaled_objects: tuple[dict, ...] = ()
    vpas: tuple[dict, ...] = ()

    def names(self) -> list[str]:
        """Every autoscaler read: hpa/NAME, scaledobject/NAME, vpa/NAME."""
        return [f"{kind}/{manifest['metadata']['name']}" for kind, found in
                (("hpa", self.hpas), ("scaledobject", self.scaled_objects), ("vpa", self.vpas)) for manifest in found]

    def running(self) -> list[str]:
        """Those the twin runs: all but VPAs while it has no VPA policy."""
        return [name for name in self.names() if VPA_RUNS or not name.startswith("vpa/")]

    def carried(self) -> tuple[dict, ...]:
        """VPAs read and not run (no VPA policy in this twin)."""
        return () if VPA_RUNS else self.vpas

    def overrides(self, queries: Mapping[str, str]) -> dict:
        """Scenario overrides that run these autoscalers on the Deployment they scale (none: nothing to add)."""
        section = self.autoscaling(queries)
        return {"autoscaling": section, "deployment.name": self.deployment} if section else {}

    def autoscaling(self, queries: Mapping[str, str]) -> dict:
        """The scenario's `hpa` or `keda` section for what scales the Deployment's replicas, and its `vpa` section
        where the twin runs VPAs (empty: nothing)."""
        scalers = _one([("hpa", m) for m in self.hpas] + [("keda", m) for m in self.scaled_objects],
                       self.deployment, "one HPA or ScaledObject scaling it")
        vpas = _one([("vpa", m) for m in self.vpas], self.deployment, "one VPA on it") if VPA_RUNS else []
        sections = {kind: _section(kind, manifest) for kind, manifest in scalers + vpas}
        if "hpa" in sections:
            sections["hpa"]["queries"] = dict(queries)
        return sections


def read(kube, deployment: str) -> ClusterControllers:
    """The autoscalers of `deployment` through a `KubernetesCluster` (twin/live/kubernetes_port.py)."""
    hpas = [h for h in kube.hpas() if not owned_by_keda(h) and _target(h, "scaleTargetRef") == deployment]
    scaled = [s for s in kube.scaled_objects() if _target(s, "scaleTargetRef") == deployment]
    vpas = [v for v in kube.vpas() if _target(v, "targetRef") == deployment]
    return ClusterControllers(deployment, *(tuple(map(manifest, found)) for found in (hpas, scaled, vpas)))


def manifest(served: dict) -> dict:
    """An object as the API serves it, less what the server adds: the manifest that would create it."""
    metadata = {key: value for key, value in served.get("metadata", {}).items() if key in _KEPT_METADATA}
    annotations = {k: v for k, v in metadata.get("annotations", {}).items() if k not in _SERVER_ANNOTATIONS}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return {"apiVersion": served.get("apiVersion"), "kind": served.get("kind"), "metadata": metadata,
            "spec": served.get("spec", {})}


def _one(found: list[tuple[str, dict]], deployment: str, expected: str) -> list[tuple[str, dict]]:
    """The twin runs one autoscaler of a kind on the Deployment (upstream's HPA controller refuses two HPAs)."""
    if len(found) > 1:
        names = ", ".join(f"{_kind_name(kind)}/{m['metadata']['name']}" for kind, m in found)
        raise InputError(f"deployment/{deployment}", "scaleTargetRef", f"{expected} (the twin runs one; the HPA "
                         "controller itself refuses two HPAs on one target: AmbiguousSelector)", names)
    return found


def _section(kind: str, served: dict) -> dict:
    source = f"{_plural(kind)}/{served['metadata']['name']} (read from the cluster)"
    return {"manifest": {"object": served, "source": source}}


def _kind_name(kind: str) -> str:
    return {"hpa": "hpa", "keda": "scaledobject", "vpa": "vpa"}[kind]


def _target(served: dict, field: str) -> str:
    reference = (served.get("spec") or {}).get(field) or {}
    return str(reference.get("name", "")) if reference.get("kind", "Deployment") == "Deployment" else ""


def _plural(kind: str) -> str:
    return {"hpa": "horizontalpodautoscaler", "keda": "scaledobject", "vpa": "verticalpodautoscaler"}[kind]
