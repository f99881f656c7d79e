"""A runs.csv row (its configuration columns only) → the twin's Scenario, with every assumption spelled out.

Fidelity ledger — source: texano00/TorchServe-Lab (JMeter 5.6.2 against TorchServe on AKS, August 2023) as
transcribed in `calibration/data/`. Modelled: the node (vCPUs, RAM, its one GPU and its memory), one Deployment whose
pods request no resources (so every pod shares the node's GPU and all its vCPUs), TorchServe's batch settings, a
JMeter closed loop with zero think time and linear ramp-up, each thread on one keep-alive connection.
Not modelled: the JMeter client's own limits, the LoadBalancer hop beyond kube-proxy's per-connection choice.

Assumptions for blank cells (also printed by `servetwin predict --help`):
  ASSUMPTIONS below, one line each.
"""
from __future__ import annotations

from dataclasses import dataclass

from calibration.readers import RunConfig
from twin.config.schema import ModelProfile, Scenario

A100 = "a100-80gb"
A10 = "a10-4q"
CPU = "cpu"
MODELS = {"SamLowe/roberta-base-go_emotions": "roberta-base-go_emotions",
          "facebook/detr-resnet-50": "detr-resnet-50"}
# GPU memory the node's accelerator exposes: the whole A100 80GB; an A10-4Q vGPU profile has 4096 MiB.
GPU_MEMORY_GIB = {A100: 80.0, A10: 4.0}
TIME_SLICE_REPLICAS = 2  # nvidia.com/gpu.shared advertised when the GPUSHARE run's pods were scheduled (16:46)
DEFAULT_RAMP_S = 10.0
DEFAULT_DURATION_S = 120.0

ASSUMPTIONS = (
    "ramp_s blank -> 10 s; duration_s blank -> 120 s (the source's JMeter plan); batch_size/max_batch_delay_ms blank "
    "-> 1 / 100 ms (the source's config.properties)",
    "pods blank -> 1 pod (replicaCount 1 in the source's chart), except on a time-sliced GPU (gpu_partition says "
    f"'time-sliced'): {TIME_SLICE_REPLICAS} pods, the nvidia.com/gpu.shared replicas the node advertised",
    "workers_per_pod blank -> TorchServe's default: number_of_gpu (1) on GPU, the node's vCPUs (JVM "
    "availableProcessors, no CPU limit) on CPU",
    "pods request no resources: every pod sees all the node's vCPUs and shares its one GPU",
    "device cpu -> the model's CPU profile, even on a GPU node (number_of_gpu=0)",
    "gpu_model containing A100 -> one whole A100 80GB; containing A10 -> the A10-4Q vGPU (4096 MiB)",
    "a model outside the study (roberta-base-go_emotions, detr-resnet-50) is profiled under its name without the hub "
    "owner (`org/name` -> `name`)",
    "node RAM: node_ram_gb read as GiB; no network round trip is added: the profile's frontend_ms already holds the "
    "source client's round trip",
)
__doc__ = __doc__.replace("  ASSUMPTIONS below, one line each.", "\n".join(f"  - {a}" for a in ASSUMPTIONS))


class MappingError(ValueError):
    """A row that cannot become a scenario; the message names the run and the missing fact."""


@dataclass(frozen=True)
class Setup:
    """The deployment facts of one row once blanks are filled."""

    model: str  # short model name, e.g. roberta-base-go_emotions
    accelerator: str  # A100, A10 or CPU
    pods: int
    workers: int
    users: int
    ramp_s: float
    duration_s: float
    time_sliced: bool

    @property
    def profile_key(self) -> tuple[str, str]:
        return self.model, self.accelerator


def setup_of(config: RunConfig) -> Setup:
    """Fill the row's blanks (module docstring) or raise MappingError saying which fact is missing."""
    fail = _failer(config.id)
    if not config.model:
        raise fail("model not stated")
    if config.node_vcpus is None or config.node_ram_gb is None:
        raise fail("node_vcpus/node_ram_gb not stated (the node cannot be built)")
    if config.users is None:
        raise fail("users not stated (the closed loop needs a thread count)")
    if config.device not in ("gpu", "cpu"):
        raise fail("device not stated (gpu or cpu)")
    accelerator = _accelerator(config, fail)
    time_sliced = "time-slic" in (config.gpu_partition or "")
    pods = config.pods or (TIME_SLICE_REPLICAS if time_sliced else 1)
    default_workers = 1 if config.device == "gpu" else config.node_vcpus
    return Setup(model=short_name(config.model), accelerator=accelerator, pods=pods,
                 workers=config.workers_per_pod or default_workers, users=config.users,
                 ramp_s=DEFAULT_RAMP_S if config.ramp_s is None else config.ramp_s,
                 duration_s=config.duration_s or DEFAULT_DURATION_S, time_sliced=time_sliced)


def short_name(model: str) -> str:
    """The profile's model name: the study's short names; any other model by its name without a hub owner."""
    return MODELS.get(model) or model.rsplit("/", 1)[-1]


def _accelerator(config: RunConfig, fail) -> str:
    if config.device == "cpu":
        return CPU
    gpu = config.gpu_model or ""
    if "A100" in gpu:
        return A100
    if "A10" in gpu:
        return A10
    raise fail(f"GPU {gpu!r} is neither an A100 80GB nor an A10-4Q vGPU")


def _failer(run_id: str):
    return lambda message: MappingError(f"{run_id}: {message}")


def node_gpu_key(config: RunConfig) -> str | None:
    """The node's own GPU (a CPU run on a GPU node still has it)."""
    gpu = config.gpu_model or ""
    return A100 if "A100" in gpu else A10 if "A10" in gpu else None


def scenario_for(config: RunConfig, profile: ModelProfile, *, seed: int = 1) -> Scenario:
    """The Scenario of one row, served with `profile` (the profile of `setup_of(config).profile_key`)."""
    setup = setup_of(config)
    return Scenario.model_validate({
        "name": config.id, "seed": seed, "duration_s": setup.duration_s,
        "node_pools": [_pool(config, setup)],
        "deployment": {"pods": setup.pods, "initial_state": "ready", "torchserve": {"model": {
            "min_workers": setup.workers, "batch_size": config.batch_size or 1,
            "max_batch_delay_ms": 100.0 if config.max_batch_delay_ms is None else config.max_batch_delay_ms}}},
        "model": profile.model_dump(),
        "workload": {"type": "closed", "users": setup.users, "ramp_up_s": setup.ramp_s},
    })


def _pool(config: RunConfig, setup: Setup) -> dict:
    pool = {"name": config.cloud_vm or "node", "count": 1, "vcpus": config.node_vcpus,
            "memory_gib": config.node_ram_gb, "image_cached": True}
    gpu = node_gpu_key(config)
    if gpu is not None:
        sharing = {"mode": "time-slicing", "replicas": TIME_SLICE_REPLICAS} if setup.time_sliced else {}
        pool["gpus"] = {"model": config.gpu_model, "count": 1, "memory_gib": GPU_MEMORY_GIB[gpu], "sharing": sharing}
    return pool
