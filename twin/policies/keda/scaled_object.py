"""KEDA ScaledObject as a pure policy: KEDA decides 0↔1 (and idle↔min), the HPA it generates decides 1↔N.

Upstream kedacore/keda v2.20 (main after v2.20.1). The pieces, each with its own fidelity ledger:
`keda.manifest` (ScaledObject YAML → validated spec), `keda.triggers` (prometheus / cpu / memory scalers),
`keda.formula` (scalingModifiers expressions), `keda.generated_hpa` (the generated HPA manifest), `keda.scale` (the
operator's polling loop and the controller's pause), `keda.fallback` (fallback, composite metric, values served to
the HPA), `keda.prometheus_reply` (the Prometheus scaler's reading of a query reply).
Typical use: `spec = scaledobject_from_manifest(doc, path)`; on every reconcile call `pause` (while it answers, the
loop and the HPA are stopped); every `spec.polling_interval_s` call `poll`; on every HPA sync call
`external_metric_values` and give the HPA built from `generated_hpa_manifest(spec)` those values.
"""
from twin.policies.keda.fallback import COMPOSITE_METRIC, KedaState, external_metric_values
from twin.policies.keda.generated_hpa import generated_hpa_manifest
from twin.policies.keda.manifest import ScaledObjectSpec, scaledobject_from_manifest
from twin.policies.keda.prometheus_reply import decode_reply
from twin.policies.keda.scale import Condition, KedaDecision, pause, poll
from twin.policies.keda.triggers import TriggerError, TriggerResult, prometheus_value

__all__ = [
    "COMPOSITE_METRIC", "Condition", "KedaDecision", "KedaState", "ScaledObjectSpec", "TriggerError",
    "TriggerResult", "decode_reply", "external_metric_values", "generated_hpa_manifest", "pause", "poll",
    "prometheus_value", "scaledobject_from_manifest",
]
