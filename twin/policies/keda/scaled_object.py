"""KEDA ScaledObject as a pure policy: KEDA decides 0↔1 (and idle↔min), the HPA it generates decides 1↔N.

Upstream kedacore/keda v2.20 (main after v2.20.1). The pieces, each with its own fidelity ledger:
`keda.manifest` (ScaledObject YAML → validated spec), `keda.triggers` (prometheus / cpu / memory scalers),
`keda.formula` (scalingModifiers expressions), `keda.generated_hpa` (the generated HPA manifest), `keda.scale` (the
operator's polling loop), `keda.fallback` (fallback, composite metric, values served to the HPA).
Typical use: `spec = scaledobject_from_manifest(doc, path)`; every `spec.polling_interval_s` call `poll`; on
every HPA sync call `external_metric_values` and give the HPA built from `generated_hpa_manifest(spec)` those values.
"""
from twin.policies.keda.fallback import COMPOSITE_METRIC, KedaState, external_metric_values
from twin.policies.keda.generated_hpa import generated_hpa_manifest
from twin.policies.keda.manifest import ScaledObjectSpec, scaledobject_from_manifest
from twin.policies.keda.scale import Condition, KedaDecision, poll
from twin.policies.keda.triggers import TriggerError, TriggerResult, prometheus_value

__all__ = [
    "COMPOSITE_METRIC", "Condition", "KedaDecision", "KedaState", "ScaledObjectSpec", "TriggerError",
    "TriggerResult", "external_metric_values", "generated_hpa_manifest", "poll", "prometheus_value",
    "scaledobject_from_manifest",
]
