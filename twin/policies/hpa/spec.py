"""The HorizontalPodAutoscaler (autoscaling/v2) spec and the controller's settings, as plain frozen data.

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/apis/autoscaling/v2/defaults.go`
(`SetDefaults_HorizontalPodAutoscaler`, `GenerateHPAScaleUpRules`, `GenerateHPAScaleDownRules`) and
`pkg/controller/podautoscaler/config/v1alpha1/defaults.go` (controller flags), Kubernetes 1.33+.
Modelled: minReplicas default 1, no metrics → CPU 80 %, behavior defaults (scale-up: window 0, Max, Pods 4/15 s and
Percent 100/15 s; scale-down: window unset → controller flag, Max, Percent 100/15 s), per-direction `tolerance`
(KEP-4951). Metric values are kept as milli-units (`MilliValue`), as the controller computes with them.
Not modelled: `HPAScaleToZero` validation (minReplicas 0 is accepted as-is).
"""
from __future__ import annotations

from dataclasses import dataclass, field

RESOURCE, PODS, OBJECT, EXTERNAL = "Resource", "Pods", "Object", "External"
CONTAINER_RESOURCE = "ContainerResource"
UTILIZATION, AVERAGE_VALUE, VALUE = "Utilization", "AverageValue", "Value"
MAX_POLICY, MIN_POLICY, DISABLED_POLICY = "Max", "Min", "Disabled"
PODS_POLICY, PERCENT_POLICY = "Pods", "Percent"
DEFAULT_CPU_UTILIZATION = 80


@dataclass(frozen=True)
class HPAControllerSettings:
    """kube-controller-manager flags (`RecommendedDefaultHPAControllerConfiguration`), in seconds."""

    sync_period: float = 15.0
    tolerance: float = 0.1
    downscale_stabilization_window: float = 300.0
    cpu_initialization_period: float = 300.0
    initial_readiness_delay: float = 30.0
    # Package variables `scaleUpLimitFactor`/`scaleUpLimitMinimum` of horizontal.go (legacy path, behavior == nil);
    # not flags, but upstream's own tests raise the factor to 8.
    legacy_scale_up_factor: float = 2.0
    legacy_scale_up_minimum: float = 4.0


@dataclass(frozen=True)
class LabelSelector:
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (key, operator, values)


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    name: str
    api_version: str = ""


@dataclass(frozen=True)
class MetricKey:
    """Identifies where an observation for a metric comes from (what the metrics APIs would be asked)."""

    source: str  # Resource | ContainerResource | Pods | Object | External
    name: str  # resource name ("cpu") or metric name
    selector: LabelSelector | None = None
    described_object: ObjectRef | None = None
    container: str = ""  # ContainerResource only

    @property
    def sample_name(self) -> str:
        """The key of this metric in `PodObservation.samples` / `.requests` ("app/cpu" for a container)."""
        return f"{self.container}/{self.name}" if self.container else self.name


@dataclass(frozen=True)
class MetricTarget:
    type: str  # Utilization | AverageValue | Value
    average_utilization: int | None = None
    average_value_milli: int | None = None
    value_milli: int | None = None


@dataclass(frozen=True)
class MetricSpec:
    key: MetricKey
    target: MetricTarget

    @property
    def source(self) -> str:
        return self.key.source


@dataclass(frozen=True)
class ScalingPolicy:
    type: str  # Pods | Percent
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    stabilization_window_seconds: int | None
    select_policy: str
    policies: tuple[ScalingPolicy, ...]
    tolerance: float | None = None


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class HPASpec:
    name: str
    scale_target: ObjectRef
    max_replicas: int
    min_replicas: int = 1
    metrics: tuple[MetricSpec, ...] = field(default_factory=lambda: (default_cpu_metric(),))
    behavior: Behavior | None = None


def default_cpu_metric() -> MetricSpec:
    target = MetricTarget(UTILIZATION, average_utilization=DEFAULT_CPU_UTILIZATION)
    return MetricSpec(MetricKey(RESOURCE, "cpu"), target)


def scale_up_rules(
    *, window: int | None = None, select: str | None = None,
    policies: tuple[ScalingPolicy, ...] | None = None, tolerance: float | None = None,
) -> ScalingRules:
    """`GenerateHPAScaleUpRules`: user fields win, the rest come from the API defaults."""
    default = (ScalingPolicy(PODS_POLICY, 4, 15), ScalingPolicy(PERCENT_POLICY, 100, 15))
    return ScalingRules(0 if window is None else window, select or MAX_POLICY,
                        default if policies is None else policies, tolerance)


def scale_down_rules(
    *, window: int | None = None, select: str | None = None,
    policies: tuple[ScalingPolicy, ...] | None = None, tolerance: float | None = None,
) -> ScalingRules:
    """`GenerateHPAScaleDownRules`: the window stays unset so that the controller flag applies."""
    default = (ScalingPolicy(PERCENT_POLICY, 100, 15),)
    return ScalingRules(window, select or MAX_POLICY, default if policies is None else policies, tolerance)
