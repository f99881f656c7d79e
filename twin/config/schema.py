"""The scenario schema: every field with its unit, default and meaning.

Names that exist upstream keep their upstream meaning (TorchServe's batchSize is `batch_size` here, maxBatchDelay is
`max_batch_delay_ms`, job_queue_size is `job_queue_size`; Kubernetes resources are quantities such as "500m", "4Gi").
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from twin.config import base
from twin.config.base import Duration, NonNegativeFloat, PositiveFloat, Seconds, Strict
from twin.config.control import Autoscaling, Metrics, NodeGroupLimits
from twin.config.quantity import exact_quantity, parse_quantity

# MIG profiles of the A100 (NVIDIA MIG user guide, "Supported MIG Profiles"): compute slices of 7, memory in GiB.
MIG_PROFILES: dict[str, tuple[int, float]] = {
    "1g.5gb": (1, 5), "1g.10gb": (1, 10), "2g.10gb": (2, 10), "3g.20gb": (3, 20), "4g.20gb": (4, 20),
    "7g.40gb": (7, 40), "1g.20gb": (1, 20), "2g.20gb": (2, 20), "3g.40gb": (3, 40), "4g.40gb": (4, 40),
    "7g.80gb": (7, 80),
}


class GpuSharing(Strict):
    """How the NVIDIA device plugin exposes each GPU."""

    mode: Literal["exclusive", "time-slicing", "mps", "mig"] = Field(
        "exclusive", description="exclusive: one unit per GPU (processes in it still time-slice); time-slicing or "
                                 "mps: `replicas` units per GPU, contexts time-sliced or kernels run side by side "
                                 "(the device plugin's sharing.timeSlicing / sharing.mps); mig: isolated slices")
    replicas: int = Field(1, ge=1, le=base.MAX_PODS, description="time-slicing, mps: nvidia.com/gpu units advertised "
                          "per GPU (at most as many as a cluster holds pods)")
    mig_profiles: tuple[str, ...] = Field((), description="mig: the slices each GPU is split into")

    @field_validator("mig_profiles")
    @classmethod
    def _known_profiles(cls, profiles: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in profiles if p not in MIG_PROFILES]
        if unknown:
            raise ValueError(f"a MIG profile among {sorted(MIG_PROFILES)}, got {unknown[0]!r}")
        return profiles

    @model_validator(mode="after")
    def _consistent(self) -> "GpuSharing":
        if (self.mode == "mig") != bool(self.mig_profiles):
            raise ValueError(f"mig_profiles: slices listed exactly when mode is mig, got {list(self.mig_profiles)} "
                             f"with mode {self.mode}")
        used = sum(MIG_PROFILES[p][0] for p in self.mig_profiles)
        if used > 7:
            raise ValueError(f"mig_profiles: MIG slices using at most 7 compute slices per GPU, got {used} "
                             f"({' + '.join(self.mig_profiles)})")
        return self


class GpuSpec(Strict):
    model: str = Field("NVIDIA A100 80GB PCIe", description="the board as nvidia-smi names it; its device model "
                       "(twin/gpu/sharing.py) gives the sharing defaults")
    count: int = Field(1, ge=1, le=base.MAX_GPUS_PER_NODE, description="physical GPUs in each node")
    memory_gib: Annotated[float, Field(gt=0, le=base.MAX_MEMORY_GIB)] = Field(
        80.0, description="memory of each GPU: workers that do not fit fail to start, as CUDA OOM does")
    sharing: GpuSharing = Field(GpuSharing(), description="how the device plugin exposes each GPU to pods")
    timeslice_efficiency: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="device time left to kernels while contexts alternate; default: the device model's "
                          "(twin/gpu/sharing.py) or a calibrated profile's")
    mps_capacity: Annotated[float, Field(ge=1)] | None = Field(
        None, description="MPS clients whose kernels run side by side; default: the device model's")


class NodePool(Strict):
    name: str = Field(description="the pool's name, as a Deployment's nodeSelector names it")
    count: int = Field(1, ge=0, le=base.MAX_NODES, description="nodes at the start")
    vcpus: Annotated[float, Field(gt=0, le=base.MAX_VCPUS)] = Field(description="vCPUs of each node (capacity)")
    memory_gib: Annotated[float, Field(gt=0, le=base.MAX_MEMORY_GIB)] = Field(
        description="memory of each node (capacity)")
    allocatable_cpu: PositiveFloat | None = Field(None, description="default: vcpus")
    allocatable_memory_gib: PositiveFloat | None = Field(None, description="default: memory_gib")
    price_per_hour: NonNegativeFloat = Field(0.0, description="price of one node for one hour, for the summary's cost")
    gpus: GpuSpec | None = Field(None, description="the GPUs of each node; none: a CPU-only pool")
    image_cached: bool = Field(False, description="the serving image is already on the nodes at the start")
    system_memory_mib: NonNegativeFloat = Field(0.0, description="memory the OS, kubelet and daemons use")
    background_threads: NonNegativeFloat = Field(0.0, description="busy threads of other processes on each node")
    pool_idle_spin_ms: NonNegativeFloat = Field(
        7.2, description="CPU each idle thread of a torch pool spins after a parallel region before it sleeps "
                         "(libgomp's GOMP_SPINCOUNT of 300,000 at the host's pause; measured 7.2 ms on an AMD EPYC "
                         "host); 0: OMP_WAIT_POLICY=passive")
    sched_slice_ms: PositiveFloat | None = Field(
        None, description="how long a descheduled thread waits for its core; default: Linux's scheduler slice, "
                          "0.75 ms x (1 + log2 min(vcpus, 8)), plus half a 4 ms tick (HZ=250), when it is noticed")
    autoscaling: NodeGroupLimits = Field(NodeGroupLimits(), description="Cluster Autoscaler limits and timings of "
                                         "this pool")

    @model_validator(mode="after")
    def _allocatable_within_capacity(self) -> "NodePool":
        """The kubelet's allocatable is capacity minus reservations: never more than the node has."""
        if self.allocatable_cpu is not None and self.allocatable_cpu > self.vcpus:
            raise ValueError(f"allocatable_cpu: at most vcpus ({self.vcpus:g}), got {self.allocatable_cpu:g}")
        if self.allocatable_memory_gib is not None and self.allocatable_memory_gib > self.memory_gib:
            raise ValueError(f"allocatable_memory_gib: at most memory_gib ({self.memory_gib:g}), "
                             f"got {self.allocatable_memory_gib:g}")
        return self

    @model_validator(mode="after")
    def _memory_and_count_possible(self) -> "NodePool":
        """The system's own memory fits the node; a pool whose autoscaling limits are written starts within them,
        as a cloud's node group (an EC2 Auto Scaling group, an AKS or GKE node pool) refuses a size outside."""
        if self.system_memory_mib > self.memory_gib * 1024:
            raise ValueError(f"system_memory_mib: at most the node's memory ({self.memory_gib * 1024:g} MiB), got "
                             f"{self.system_memory_mib:g}")
        limits = self.autoscaling
        if "autoscaling" in self.model_fields_set and not limits.min_count <= self.count <= limits.max_count:
            raise ValueError(f"count: from autoscaling.min_count ({limits.min_count}) to autoscaling.max_count "
                             f"({limits.max_count}), as a cloud's node group requires, got {self.count}")
        return self


STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _check_quantity(kind: str, name: str, value: Any) -> None:
    if name not in STANDARD_RESOURCES and not name.startswith("hugepages-") and "/" not in name:
        raise ValueError(f"{kind}.{name}: a standard resource ({', '.join(STANDARD_RESOURCES)}, hugepages-*) or a "
                         f"fully qualified one such as nvidia.com/gpu, as the API server requires, got {name!r}")
    try:
        quantity = exact_quantity(value)
    except ValueError:
        raise ValueError(f"{kind}.{name}: a Kubernetes quantity such as '500m' or '4Gi', got {value!r}") from None
    if quantity < 0:
        raise ValueError(f"{kind}.{name}: a quantity >= 0, as the API server requires, got {value!r}")
    if "/" in name and quantity.denominator != 1:
        raise ValueError(f"{kind}.{name}: a whole number for an extended resource, got {value!r}")


class Resources(Strict):
    """Container requests and limits as Kubernetes quantities."""

    # values of any type: _check_quantity judges them as the API server does and names the resource
    requests: dict[str, Any] = Field({}, description="requests (cpu, memory, nvidia.com/gpu) as Kubernetes "
                                             "quantities: what scheduling reserves")
    limits: dict[str, Any] = Field({}, description="limits as Kubernetes quantities: a container above its "
                                           "memory limit is OOM-killed")

    @model_validator(mode="after")
    def _api_server_rules(self) -> "Resources":
        """The API server's ValidateResourceRequirements: names standard or fully qualified, quantities >= 0, a
        request at most its limit, and an extended resource (nvidia.com/gpu) whole and with its request equal to
        its limit."""
        for kind in ("requests", "limits"):
            for name, value in getattr(self, kind).items():
                _check_quantity(kind, name, value)
        for name, limit in self.limits.items():
            request = self.requests.get(name)
            if request is None:
                continue
            if exact_quantity(request) > exact_quantity(limit):
                raise ValueError(f"requests.{name}: at most limits.{name} ({limit!r}), as the API server "
                                 f"requires, got {request!r}")
            if "/" in name and exact_quantity(request) != exact_quantity(limit):
                raise ValueError(f"requests.{name}: equal to limits.{name} ({limit!r}) for an extended resource, "
                                 f"got {request!r}")
        return self

    def amount(self, kind: Literal["requests", "limits"], name: str) -> float:
        return parse_quantity(getattr(self, kind).get(name, 0))


class ReadinessProbe(Strict):
    check: Literal["ping", "workers"] = Field(
        "ping", description="ping: TorchServe /ping (frontend up); workers: every worker of the model READY")
    initial_delay_s: NonNegativeFloat = Field(0.0, description="initialDelaySeconds: wait after the container starts "
                                              "before the first probe")
    period_s: PositiveFloat = Field(10.0, description="periodSeconds: time between probes")


class PodStartup(Strict):
    schedule_s: NonNegativeFloat = Field(1.0, description="scheduler and kubelet pick-up")
    image_pull_s: NonNegativeFloat = Field(60.0, description="first pull of the serving image on a node")
    container_start_s: NonNegativeFloat = Field(2.0, description="container runtime start once the image is on the "
                                                "node")
    frontend_start_s: NonNegativeFloat = Field(1.5, description="TorchServe JVM up and answering /ping")
    readiness: ReadinessProbe = Field(ReadinessProbe(), description="the readiness probe: when a started pod joins "
                                      "the Service")
    termination_grace_s: NonNegativeFloat = Field(30.0, description="terminationGracePeriodSeconds: how long a "
                                                  "terminating pod may finish its requests")


class ModelConfig(Strict):
    """TorchServe's per-model settings (model-config.yaml / config.properties `models=`)."""

    min_workers: int = Field(1, ge=0, le=base.MAX_WORKERS, description="minWorkers: workers each pod starts "
                             "(server-wide: default_workers_per_model)")
    max_workers: int | None = Field(None, ge=0, le=base.MAX_WORKERS, description="default: min_workers")
    batch_size: int = Field(1, ge=1, le=base.MAX_BATCH_SIZE, description="batchSize: requests the frontend gathers "
                            "into one batch for a worker")
    max_batch_delay_ms: NonNegativeFloat = Field(100.0, description="maxBatchDelay: the longest a batch waits to fill")
    response_timeout_s: PositiveFloat = Field(120.0, description="responseTimeout: a worker busy longer on one batch "
                                              "is restarted and the batch fails")
    job_queue_size: int = Field(100, ge=1, le=10_000_000, description="job_queue_size: requests queued for the model; "
                                "beyond it the frontend answers 503")

    @model_validator(mode="after")
    def _max_at_least_min(self) -> "ModelConfig":
        """TorchServe's management API: "max_worker cannot be less than min_worker." (400 Bad Request)."""
        if self.max_workers is not None and self.max_workers < self.min_workers:
            raise ValueError(f"max_workers: at least min_workers ({self.min_workers}), as TorchServe requires "
                             f"(max_worker cannot be less than min_worker), got {self.max_workers}")
        return self


class TorchServe(Strict):
    config_properties: str | None = Field(None, description="path of a real config.properties, read verbatim")
    model: ModelConfig = Field(ModelConfig(), description="the model's settings; fields written here win over "
                               "config.properties")


class Deployment(Strict):
    name: str = Field("torchserve", description="the Deployment's name, which its pods' names start with")
    pods: int = Field(1, ge=0, le=base.MAX_PODS, description="replicas at the start")
    initial_state: Literal["ready", "cold"] = Field(
        "ready", description="ready: the first pods are up with workers loaded at t=0, as before a load test; "
                             "cold: they start from scratch (schedule, pull, start, load)")
    initial_ready_pods: int | None = Field(
        None, ge=0, description="of `pods`, how many are up at t=0 while the rest start from scratch, as when a "
                                "load test begins during a scale-up; default: all (ready) or none (cold)")
    node_pool: str | None = Field(None, description="nodeSelector on one pool; default: any pool")
    resources: Resources = Field(Resources(), description="the TorchServe container's requests and limits")
    startup: PodStartup = Field(PodStartup(), description="what a new pod goes through before it serves")
    torchserve: TorchServe = Field(TorchServe(), description="TorchServe's configuration in each pod")

    @model_validator(mode="after")
    def _ready_within_pods(self) -> "Deployment":
        if self.initial_ready_pods is not None and self.initial_ready_pods > self.pods:
            raise ValueError(f"initial_ready_pods ({self.initial_ready_pods}) exceeds pods ({self.pods})")
        return self

    @property
    def ready_at_start(self) -> int:
        if self.initial_ready_pods is not None:
            return self.initial_ready_pods
        return self.pods if self.initial_state == "ready" else 0


class ModelProfile(Strict):
    """Service demands and memory of one model on one accelerator (calibration writes these)."""

    name: str = Field("model", description="the model's name; series carry it unless config.properties registers "
                      "another")
    device: Literal["gpu", "cpu"] = Field("gpu", description="where a worker computes: gpu (its pod's GPU share) or "
                                          "cpu")
    cpu_ms: NonNegativeFloat = Field(description="CPU time per request on an idle node (pre/post-processing)")
    cpu_threads: PositiveFloat | Literal["cores"] = Field(
        1.0, description="threads a request keeps busy while on the CPU: the worker's torch intra-op pool "
                         "(OMP_NUM_THREADS, torch.set_num_threads); cores: torch's default, one per core of the node")
    pool_threads: PositiveFloat | Literal["cores"] | None = Field(
        None, description="threads of the worker's intra-op pool that meet at each barrier (cores: torch's default, "
                          "one per core of the node); default: the fewest that keep cpu_threads busy")
    parallel_regions: NonNegativeFloat = Field(
        0.0, description="times per request the thread pool meets at a barrier (parallel ops); each waits for a "
                         "descheduled pool thread when busy threads outnumber cores")
    gpu_ms: NonNegativeFloat = Field(0.0, description="accelerator time for a batch of one on a whole GPU")
    gpu_ms_per_extra_item: NonNegativeFloat = Field(0.0, description="added per extra request in a batch")
    gpu_busy_fraction: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0, description="share of gpu_ms the device runs kernels; the rest is host-side launch and sync, which "
                         "overlaps other processes' kernels")
    frontend_ms: NonNegativeFloat = Field(0.0, description="frontend and network time outside the worker")
    frontend_cpu_ms: NonNegativeFloat = Field(0.0, description="core-ms of the JVM frontend per request")
    demand_distribution: Literal["deterministic", "exponential", "lognormal"] = Field(
        "lognormal", description="how each request's CPU and GPU demands vary around their means")
    demand_cv: NonNegativeFloat = Field(0.2, description="coefficient of variation for lognormal demands")
    gpu_memory_mib: NonNegativeFloat = Field(0.0, description="GPU memory of a worker that has served")
    gpu_memory_idle_mib: NonNegativeFloat | None = Field(None, description="after load, before serving")
    worker_rss_mib: NonNegativeFloat = Field(2000.0, description="host memory of one worker process")
    frontend_rss_mib: NonNegativeFloat = Field(200.0, description="host memory of a pod's TorchServe frontend (the "
                                               "JVM)")
    load_time_s: NonNegativeFloat = Field(5.0, description="time a worker takes to load the model before it is READY")
    load_cpu_cores: NonNegativeFloat = Field(1.0, description="cores a worker keeps busy on its node while it loads "
                                                              "the model (one: Python imports and torch.load)")
    cpu_oversubscription_penalty: NonNegativeFloat = Field(
        0.0, description="CPU a pool burns spinning at its barriers per ms of work once busy threads outnumber "
                         "the cores, growing up to twice the cores and no further; beyond barrier waits")
    timeslice_efficiency: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="the accelerator's time-slicing efficiency as calibrated with this profile; default: "
                          "the device model's")
    mig_speed_exponent: NonNegativeFloat = Field(1.0, description="slice kernel speed = (g/7) ** exponent")
    assumed: tuple[str, ...] = Field((), description="fields no measurement identified (set by calibration)")

    def threads_on(self, vcpus: float) -> float:
        """Busy threads of a request on the CPU of a node with `vcpus` cores."""
        return float(vcpus) if self.cpu_threads == "cores" else self.cpu_threads

    def pool_on(self, vcpus: float) -> int:
        """Threads of the pool that meet at a barrier on a node with `vcpus` cores."""
        pool = self.threads_on(vcpus) if self.pool_threads is None else (
            float(vcpus) if self.pool_threads == "cores" else self.pool_threads)
        return max(1, math.ceil(pool - 1e-9))

    @property
    def idle_gpu_memory_mib(self) -> float:
        return self.gpu_memory_mib if self.gpu_memory_idle_mib is None else self.gpu_memory_idle_mib


class ModelRef(Strict):
    """`model:` in a scenario: a profile file, with optional overrides of its fields."""

    model_config = ConfigDict(extra="allow", frozen=True)
    profile: str


class Window(Strict):
    """When a workload group sends: from start_s to stop_s."""

    start_s: Seconds = Field(0.0, description="when the group starts sending")
    stop_s: Duration | None = Field(None, description="default: end of the scenario")

    @model_validator(mode="after")
    def _stops_after_start(self) -> "Window":
        if self.stop_s is not None and self.stop_s <= self.start_s:
            raise ValueError(f"stop_s: after start_s ({self.start_s:g} s), got {self.stop_s:g}")
        return self


class OpenLoopBase(Window):
    network_rtt_ms: NonNegativeFloat = Field(0.0, description="round trip between client and Service, added to every "
                                             "response")


class Closed(Window):
    """A JMeter thread group: each user loops request → response → think, on one keep-alive connection."""

    type: Literal["closed"] = Field(description="closed: a JMeter-like thread group")
    users: int = Field(ge=1, le=base.MAX_USERS, description="threads, each with one keep-alive connection to one pod")
    ramp_up_s: NonNegativeFloat = Field(0.0, description="time over which the users start, evenly (JMeter's ramp-up)")
    think_time_s: NonNegativeFloat = Field(0.0, description="pause between a response and the user's next request")
    think_distribution: Literal["constant", "exponential"] = Field(
        "constant", description="constant (JMeter's Constant Timer) or exponential pauses")
    network_rtt_ms: NonNegativeFloat = Field(0.0, description="round trip between client and Service, added to every "
                                             "response")
    reconnect_delay_s: NonNegativeFloat = Field(1.0, description="wait after a refused connection")
    connection_ttl_s: PositiveFloat | None = Field(
        None, description="a connection is not reused beyond this age, so its user is balanced anew (JMeter's "
                          "HttpClient4 httpclient4.time_to_live: 60 s by default); none: kept for the whole run")


class Poisson(OpenLoopBase):
    type: Literal["poisson"] = Field(description="poisson: open-loop arrivals at a constant rate")
    rate_rps: NonNegativeFloat = Field(description="mean arrival rate")


class Step(Strict):
    at_s: NonNegativeFloat = Field(description="when this rate begins")
    rate_rps: NonNegativeFloat = Field(description="arrival rate from then on")


class Steps(OpenLoopBase):
    """Piecewise-constant Poisson rate; each step holds until the next."""

    type: Literal["steps"] = Field(description="steps: open-loop arrivals at a piecewise-constant rate")
    steps: tuple[Step, ...] = Field(min_length=1, description="the rates, in time order")

    @field_validator("steps")
    @classmethod
    def _in_time_order(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        times = [step.at_s for step in steps]
        if times != sorted(times):
            raise ValueError(f"steps in order of at_s, not {times}")
        return steps


class Burst(Strict):
    at_s: NonNegativeFloat = Field(description="when the burst begins")
    duration_s: PositiveFloat = Field(description="how long it lasts")
    rate_rps: NonNegativeFloat = Field(description="arrival rate added to the base during it")


class Bursts(OpenLoopBase):
    type: Literal["bursts"] = Field(description="bursts: a base rate with bursts on top")
    base_rps: NonNegativeFloat = Field(description="arrival rate outside the bursts")
    bursts: tuple[Burst, ...] = Field(min_length=1, description="the bursts (they add up where they overlap)")


class Diurnal(OpenLoopBase):
    """rate(t) = mean_rps · (1 + amplitude · cos(2π (t − peak_at_s) / period_s))."""

    type: Literal["diurnal"] = Field(description="diurnal: a daily cycle of the arrival rate")
    mean_rps: NonNegativeFloat = Field(description="mean arrival rate over a cycle")
    amplitude: Annotated[float, Field(ge=0, le=1)] = Field(
        0.5, description="swing around the mean, as a fraction of it (0: flat, 1: down to zero)")
    period_s: PositiveFloat = Field(86400.0, description="length of one cycle")
    peak_at_s: NonNegativeFloat = Field(50400.0, description="time of the peak within the cycle (50400 s: 14:00)")


class Trace(OpenLoopBase):
    """Replay of request timestamps (seconds) from a CSV file."""

    type: Literal["trace"] = Field(description="trace: replayed request timestamps")
    path: str = Field(description="CSV file of timestamps, relative to the scenario")
    column: str = Field("timestamp", description="the column holding the timestamps (seconds)")
    time_scale: PositiveFloat = Field(1.0, description="multiply gaps by this (0.5 = twice as fast)")


Workload = Annotated[Union[Closed, Poisson, Steps, Bursts, Diurnal, Trace], Field(discriminator="type")]


class Slo(Strict):
    """A service-level objective judged second by second: a second violates it when its p95 latency or its error
    ratio is above the limit."""

    latency_p95_ms: PositiveFloat = Field(500.0, description="p95 latency above which a second violates the SLO")
    max_error_ratio: Annotated[float, Field(ge=0, le=1)] = Field(
        0.01, description="errors per request above which a second violates the SLO")


class Outputs(Strict):
    per_request: bool = Field(False, description="keep one record per request (memory grows with requests)")


class Scenario(Strict):
    name: str = Field("scenario", description="the scenario's name, in summaries and result tables")
    description: str = Field("", description="one line on what the scenario asks")
    seed: int = Field(1, ge=0, description="numpy's SeedSequence takes a non-negative integer")
    duration_s: Duration = Field(description="simulated time")
    warmup_s: NonNegativeFloat = Field(0.0, description="excluded from the summary")
    node_pools: tuple[NodePool, ...] = Field(min_length=1, description="the cluster's nodes, by pool")
    deployment: Deployment = Field(Deployment(), description="the TorchServe Deployment")
    model: ModelProfile = Field(description="the model profile: its fields inline, or {profile: FILE or a bundled "
                                "profile's name, overrides}")
    workload: tuple[Workload, ...] = Field(min_length=1, description="one workload group, or a list of them running "
                                           "side by side")
    outputs: Outputs = Field(Outputs(), description="what a run records beyond the summary")
    metrics: Metrics = Field(Metrics(), description="the Prometheus pipeline the autoscalers read")
    autoscaling: Autoscaling = Field(Autoscaling(), description="the controllers that scale pods, workers and nodes")
    slo: Slo = Field(Slo(), description="the objective whose violated minutes the summary counts")

    @field_validator("workload", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @field_validator("warmup_s")
    @classmethod
    def _warmup_within_run(cls, warmup: float, info: ValidationInfo) -> float:
        duration = info.data.get("duration_s")
        if duration is not None and warmup >= duration:
            raise ValueError(f"shorter than duration_s ({duration:g} s)")
        return warmup

    @field_validator("node_pools")
    @classmethod
    def _unique_pool_names(cls, pools: tuple[NodePool, ...]) -> tuple[NodePool, ...]:
        names = [p.name for p in pools]
        if len(set(names)) != len(names):
            raise ValueError(f"unique node pool names, not {names}")
        return pools

    @field_validator("deployment")
    @classmethod
    def _known_pool(cls, deployment: Deployment, info: ValidationInfo) -> Deployment:
        pools = [p.name for p in info.data.get("node_pools") or ()]
        if deployment.node_pool is not None and pools and deployment.node_pool not in pools:
            raise ValueError(f"node_pool naming one of {pools}")
        return deployment
