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

import re
from dataclasses import dataclass

from calibration.readers import RunConfig
from twin.config import loader
from twin.config.schema import ModelProfile, Scenario

A100 = "a100-80gb"
A10 = "a10-4q"
CPU = "cpu"
MODELS = {"SamLowe/roberta-base-go_emotions": "roberta-base-go_emotions",
          "facebook/detr-resnet-50": "detr-resnet-50"}
# GPU families by the name nvidia-smi prints, with the memory of their common board; a size in
# the name ("A100-SXM4-40GB") overrides it, and a vGPU profile ("A10-4Q") exposes its own N GiB.
GPU_FAMILIES = (("H100", 80), ("A100", 80), ("A10G", 24), ("A10", 24), ("L40S", 48), ("L4", 24), ("T4", 16),
                ("V100", 16))
TIME_SLICE_REPLICAS = 2  # nvidia.com/gpu.shared advertised when the GPUSHARE run's pods were scheduled (16:46)
DEFAULT_RAMP_S = 10.0
# JMeter 5.x's HttpClient4 does not reuse a connection older than httpclient4.time_to_live, 60000 ms by default
# (jmeter.properties: "No matter what, the connection will not be re-used beyond its TTL"): kube-proxy re-balances
# every user about once a minute.
JMETER_CONNECTION_TTL_S = 60.0
# What the source's own evidence says of a run beyond its row: pods already up when it began, the rest starting.
# A10-ROB-CPU-5p1w-u5 followed the 1-pod run (19:13) by 4 minutes with replicaCount 1 -> 5: htop shows the old pod's
# worker with 8:16 of CPU time against 0:06-2:22 for the others and the 1-minute load still rising, and the
# response-time graph steps from ~180 ms to ~315 ms at ~70 s, ramp plus one connection TTL, when the users left
# the one old pod for the new ones (calibration/data: resources.csv, latency_points.csv).
READY_AT_START = {"A10-ROB-CPU-5p1w-u5": 1}
DEFAULT_DURATION_S = 120.0

ASSUMPTIONS = (
    "ramp_s blank -> 10 s; duration_s blank -> 120 s (the source's JMeter plan); batch_size/max_batch_delay_ms blank "
    "-> 1 / 100 ms (the source's config.properties)",
    "pods blank -> 1 pod (replicaCount 1 in the source's chart), except on a time-sliced GPU (gpu_partition says "
    f"'time-sliced'): {TIME_SLICE_REPLICAS} pods, the nvidia.com/gpu.shared replicas the node advertised",
    "workers_per_pod blank -> TorchServe's default: number_of_gpu (1) on GPU, the node's vCPUs (JVM "
    "availableProcessors, no CPU limit) on CPU",
    "pods request no resources: every pod sees all the node's vCPUs and shares its one GPU",
    "JMeter users reconnect every 60 s (HttpClient4's default connection time-to-live) and are balanced anew",
    "every pod is up when the run starts, except where the source's evidence says otherwise (READY_AT_START: "
    "A10-ROB-CPU-5p1w-u5 began with 1 of its 5 pods up)",
    "device cpu -> the model's CPU profile, even on a GPU node (number_of_gpu=0)",
    "gpu_model: one GPU of the named family (H100, A100, A10G, A10, L40S, L4, T4, V100) with the memory its name "
    "states (`40GB`), else the family's common board (A100 80 GB); a vGPU profile `-NQ` exposes N GiB (A10-4Q: "
    "4096 MiB)",
    "a model outside the study (roberta-base-go_emotions, detr-resnet-50) is profiled under its name without the hub "
    "owner (`org/name` -> `name`)",
    "background_threads blank -> 0: nothing else runs on the node (observe measures it for a local server)",
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
    background_threads: float = 0.0  # other work's runnable threads on the node (observe measures them)
    batch_size: int = 1
    max_batch_delay_ms: float = 100.0

    @property
    def batched(self) -> bool:
        """Batches can form: more than one request per batch, a delay to gather them, a user to send each."""
        return self.batch_size > 1 and self.max_batch_delay_ms > 0 and self.users > 1

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
                 duration_s=config.duration_s or DEFAULT_DURATION_S, time_sliced=time_sliced,
                 background_threads=config.background_threads or 0.0, batch_size=config.batch_size or 1,
                 max_batch_delay_ms=100.0 if config.max_batch_delay_ms is None else config.max_batch_delay_ms)


def short_name(model: str) -> str:
    """The profile's model name: the study's short names; any other model by its name without a hub owner."""
    return MODELS.get(model) or model.rsplit("/", 1)[-1]


def _accelerator(config: RunConfig, fail) -> str:
    if config.device == "cpu":
        return CPU
    gpu = gpu_of(config.gpu_model)
    if gpu is None:
        raise fail(f"GPU {config.gpu_model!r} is not one of {', '.join(f for f, _ in GPU_FAMILIES)}")
    return gpu[0]


def gpu_of(name: str | None) -> tuple[str, float] | None:
    """(accelerator key, memory GiB) of a GPU as nvidia-smi names it: 'NVIDIA A100 80GB PCIe' -> a100-80gb, 80."""
    upper = (name or "").upper()
    for family, board_gib in GPU_FAMILIES:
        if re.search(rf"\b{family}(?!\d)", upper):
            vgpu = re.search(rf"{family}-(\d+)Q\b", upper)
            if vgpu:
                return f"{family.lower()}-{vgpu[1]}q", float(vgpu[1])
            size = re.search(r"(\d+)\s*GB", upper)
            gib = int(size[1]) if size else board_gib
            return f"{family.lower()}-{gib}gb", float(gib)
    return None


def _failer(run_id: str):
    return lambda message: MappingError(f"{run_id}: {message}")


def scenario_for(config: RunConfig, profile: ModelProfile, *, seed: int = 1) -> Scenario:
    """The Scenario of one row, served with `profile` (the profile of `setup_of(config).profile_key`); a row the
    scenario schema refuses is named by its id."""
    setup = setup_of(config)
    return loader.validate(Scenario, source=f"run {config.id}", lines={}, data={
        "name": config.id, "seed": seed, "duration_s": setup.duration_s,
        "node_pools": [_pool(config, setup)],
        "deployment": {"pods": setup.pods, "initial_ready_pods": READY_AT_START.get(config.id),
                       "torchserve": {"model": {
                           "min_workers": setup.workers, "batch_size": setup.batch_size,
                           "max_batch_delay_ms": setup.max_batch_delay_ms}}},
        "model": profile.model_dump(),
        "workload": {"type": "closed", "users": setup.users, "ramp_up_s": setup.ramp_s,
                     "connection_ttl_s": JMETER_CONNECTION_TTL_S},
    })


def _pool(config: RunConfig, setup: Setup) -> dict:
    pool = {"name": config.cloud_vm or "node", "count": 1, "vcpus": config.node_vcpus,
            "memory_gib": config.node_ram_gb, "image_cached": True, "background_threads": setup.background_threads}
    gpu = gpu_of(config.gpu_model)  # the node's own GPU: a CPU run on a GPU node still has it
    if gpu is not None:
        sharing = {"mode": "time-slicing", "replicas": TIME_SLICE_REPLICAS} if setup.time_sliced else {}
        pool["gpus"] = {"model": config.gpu_model, "count": 1, "memory_gib": gpu[1], "sharing": sharing}
    return pool
