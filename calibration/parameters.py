"""The physical parameters calibration fits, and how they become one ModelProfile per (model, accelerator).

Parameters are shared where the physics is shared, so that every run informs every profile it can:
  - `frontend_*` is the time outside the worker: TorchServe's frontend plus the source client's network round trip
    (the A10 and A100 runs came from different places on different days); the CPU runs share the A10 node's client.
    DETR's extra upload (a 4.9 kB JPEG against a short phrase) is taken to cost the same on both clusters:
    frontend(A10, detr) = frontend(A10, roberta) + frontend(A100, detr) − frontend(A100, roberta).
  - a model's CPU time per request on a GPU node (`cpu_*_gpunode`: tokenising or image pre-processing, Python,
    kernel launches) is one number on both GPU nodes (AMD EPYC hosts of similar clocks);
  - the A10-4Q vGPU's slowdown against the A100 is one factor for both models: gpu(A10, detr) = gpu(A100, detr) ·
    gpu(A10, roberta) / gpu(A100, roberta);
  - `timeslice_efficiency` (GPU throughput kept while processes alternate) and `cpu_penalty` (the slowdown per unit
    of CPU oversubscription) belong to the GPU driver and the node, so they are shared by every profile.
Fixed, not fitted: a GPU-node worker keeps one core busy (htop: ~21 % of a core per worker at ~24 req/s); a CPU
worker keeps as many threads busy as the node has vCPUs (PyTorch's default intra-op pool); demands are lognormal
with cv 0.2 (no per-request latency spread was recorded to fit it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from calibration.mapping import A10, A100, CPU
from calibration.readings import Memory, central
from twin.config.schema import ModelProfile

ROB, DETR = "roberta-base-go_emotions", "detr-resnet-50"
CPU_NODE_VCPUS = 6  # the A10 node the CPU runs used


@dataclass(frozen=True)
class Parameter:
    name: str
    initial: float
    lower: float
    upper: float
    meaning: str


PARAMETERS = (
    Parameter("frontend_a100_rob", 27, 0.5, 300, "ms outside the worker, roberta, A100 cluster's client"),
    Parameter("frontend_a100_detr", 33, 0.5, 300, "ms outside the worker, detr, A100 cluster's client"),
    Parameter("frontend_a10_rob", 68, 0.5, 300, "ms outside the worker, roberta, A10 cluster's client"),
    Parameter("cpu_rob_gpunode", 8.8, 0.2, 100, "CPU ms per roberta request on a GPU node"),
    Parameter("gpu_rob_a100", 3.0, 0.1, 100, "GPU ms per roberta request on the A100"),
    Parameter("gpu_rob_a10", 12.0, 0.1, 200, "GPU ms per roberta request on the A10-4Q vGPU"),
    Parameter("timeslice_efficiency", 0.8, 0.2, 1.0, "GPU throughput kept while processes alternate"),
    Parameter("cpu_rob_cpu", 28, 1, 1000, "CPU ms per roberta request on an idle 6-vCPU node"),
    Parameter("cpu_penalty", 0.2, 1e-3, 10, "slowdown per unit of CPU oversubscription"),
    Parameter("cpu_detr_gpunode", 25, 0.5, 2000, "CPU ms per detr request on a GPU node"),
    Parameter("gpu_detr_a100", 40, 0.5, 2000, "GPU ms per detr request on the A100"),
    Parameter("cpu_detr_cpu", 1000, 10, 20000, "CPU ms per detr request on an idle 6-vCPU node"),
)
NAMES = tuple(p.name for p in PARAMETERS)
STUDY_KEYS = frozenset((model, accelerator) for model in (ROB, DETR) for accelerator in (A100, A10, CPU))


def as_dict(values) -> dict[str, float]:
    return dict(zip(NAMES, (float(v) for v in values)))


# Multiply-accumulates per request, for scaling CPU time between models where a model has no CPU run to fit:
# DETR-R50 at 800 px, 86 G (Carion et al. 2020, Table 1, fvcore count = MACs); roberta-base on a short phrase of
# ~12 tokens, 85 M encoder parameters x 12 = 1.0 G.
MACS_G = {DETR: 86.0, ROB: 1.0}

# Oversubscription penalty p (twin/k8s/node.py cpu_speed): n busy all-core workers together run 1/(1 + p(n − 1)) as
# fast as one. Published slowdowns only bracket it: PyTorch's notes on multiprocessing ("CPU in multiprocessing")
# report a 30x speed-up for 4 mnist_hogwild processes, each using all N vCPUs, once cut to N/4 threads: p <= 29/3
# (tiny ops, the worst case); Iancu et al., "Oversubscription on Multicore Processors" (IPDPS 2010), find modest
# oversubscription of the NAS benchmarks raising system throughput by 27 %, the cost set by how fine-grained the
# synchronisation is: p ~ 0, taken as 0.1. Log-normal, centred at their geometric mean, 95 % within [0.1, 10].
PENALTY_PRIOR = (1.0, math.log(10) / 1.96)  # centre, log sd


def priors(theta: dict[str, float], observed: set[tuple[str, str]]) -> list[tuple[str, float]]:
    """Weak physical priors as (name, standardised residual): they only matter where the runs say little.

    DETR's pre-processing and its A100 compute are of the same order (a 800-px resize + normalise vs a ResNet-50
    + transformer pass); a 4.9 kB JPEG fits TCP's first flight, so DETR's time outside the worker is roberta's
    within a factor 2; time-slicing keeps most of the GPU's throughput; the oversubscription penalty is of order one
    (PENALTY_PRIOR). Fallback only when no run of DETR on CPU is fitted (it would otherwise tie roberta's CPU time
    to DETR's): `_detr_cpu_fallback`."""
    out = [
        ("detr_cpu_vs_gpu_share", math.log(theta["cpu_detr_gpunode"] / theta["gpu_detr_a100"]) / math.log(4)),
        ("detr_frontend_like_roberta", math.log(theta["frontend_a100_detr"] / theta["frontend_a100_rob"])
         / math.log(2)),
        ("timeslice_efficiency", (theta["timeslice_efficiency"] - 0.9) / 0.3),
        ("cpu_penalty", math.log(theta["cpu_penalty"] / PENALTY_PRIOR[0]) / PENALTY_PRIOR[1]),
    ]
    if (DETR, CPU) not in observed:
        out.append(_detr_cpu_fallback(theta))
    return out


def _detr_cpu_fallback(theta: dict[str, float]) -> tuple[str, float]:
    """DETR's CPU-node time near the geometric mean of two estimates biased in opposite directions (one prior, not
    two, so that their disagreement does not pull the GPU parameters). Roberta's CPU time scaled by multiply-
    accumulates (MACS_G) overshoots, as a CPU does more MACs per second on large GEMMs than on roberta's 12-token
    ones; DETR's A10-node time scaled by roberta's CPU-node/A10-node ratio undershoots, as a GPU's lead over a CPU
    grows with the work per kernel. Both trends in one measurement of torch.matmul on n x n (MICS-Lab/
    DeepLearningCourse, TD/DL_Practice_GPU_vs_CPU.ipynb): CPU 20.7 ms at n = 1000 (97 GFLOP/s) and 11.2 s at
    n = 10000 (179 GFLOP/s); GPU 3.7x faster at n = 1000, 19.4x at n = 10000."""
    a10 = demands(theta)
    in_worker = {model: a10[(model, A10)]["cpu_ms"] + a10[(model, A10)]["gpu_ms"] for model in (ROB, DETR)}
    by_macs = theta["cpu_rob_cpu"] * MACS_G[DETR] / MACS_G[ROB]
    by_gpu_ratio = in_worker[DETR] * theta["cpu_rob_cpu"] / in_worker[ROB]
    return "detr_cpu_scaling", math.log(theta["cpu_detr_cpu"] / math.sqrt(by_macs * by_gpu_ratio)) / math.log(4)


def demands(theta: dict[str, float]) -> dict[tuple[str, str], dict[str, float]]:
    """The fitted demand fields of each profile."""
    t = theta
    a10_factor = t["gpu_rob_a10"] / t["gpu_rob_a100"]
    frontend_a10_detr = max(0.0, t["frontend_a10_rob"] + t["frontend_a100_detr"] - t["frontend_a100_rob"])
    shared = {"timeslice_efficiency": t["timeslice_efficiency"], "cpu_oversubscription_penalty": t["cpu_penalty"]}
    gpu = {"device": "gpu", "cpu_threads": 1.0, **shared}
    cpu = {"device": "cpu", "cpu_threads": float(CPU_NODE_VCPUS), "gpu_ms": 0.0, **shared}
    return {
        (ROB, A100): {**gpu, "cpu_ms": t["cpu_rob_gpunode"], "gpu_ms": t["gpu_rob_a100"],
                      "frontend_ms": t["frontend_a100_rob"]},
        (ROB, A10): {**gpu, "cpu_ms": t["cpu_rob_gpunode"], "gpu_ms": t["gpu_rob_a10"],
                     "frontend_ms": t["frontend_a10_rob"]},
        (ROB, CPU): {**cpu, "cpu_ms": t["cpu_rob_cpu"], "frontend_ms": t["frontend_a10_rob"]},
        (DETR, A100): {**gpu, "cpu_ms": t["cpu_detr_gpunode"], "gpu_ms": t["gpu_detr_a100"],
                       "frontend_ms": t["frontend_a100_detr"]},
        (DETR, A10): {**gpu, "cpu_ms": t["cpu_detr_gpunode"], "gpu_ms": t["gpu_detr_a100"] * a10_factor,
                      "frontend_ms": frontend_a10_detr},
        (DETR, CPU): {**cpu, "cpu_ms": t["cpu_detr_cpu"], "frontend_ms": frontend_a10_detr},
    }


# Memory where nothing was read, argued from what was: a worker's CUDA context and runtime take ~990 MiB on the
# A100 (roberta's 1488 MiB idle minus its 476 MiB of fp32 weights); DETR's weights are 159 MiB, and its activations at
# 800 px add roughly what roberta's first inference adds (380 MiB). Marked as estimates in the provenance.
# On a CPU node roberta's worker holds 838 MiB; DETR's holds its smaller weights but bigger activations: ~700 MiB.
ESTIMATED_MEMORY = {
    (DETR, "gpu"): {"gpu_memory_mib": 1530.0, "gpu_memory_idle_mib": 1150.0, "worker_rss_mib": 2800.0},
    (DETR, "cpu"): {"worker_rss_mib": 700.0},
}


def measured_fields(key: tuple[str, str], memory: dict[tuple[str, str], Memory]) -> tuple[dict[str, float], list[str]]:
    """Memory fields of a profile from its readings, else from a sibling profile's, else the estimates above; the
    worker load time from its own readings only (a GPU worker's includes starting CUDA on that GPU)."""
    model, accelerator = key
    sources = [key, (model, A100), (model, A10)] if accelerator != CPU else [key]
    fields, notes = {}, []
    for name, attribute in (("gpu_memory_mib", "gpu_served"), ("gpu_memory_idle_mib", "gpu_idle"),
                            ("worker_rss_mib", "worker_rss"), ("frontend_rss_mib", "frontend_rss")):
        if accelerator == CPU and name.startswith("gpu_"):
            continue
        for source in sources + [(ROB, accelerator), (ROB, A100)] * (name == "frontend_rss_mib"):
            value = central(getattr(memory.get(source, Memory()), attribute))
            if value is not None:
                fields[name] = value
                notes.append(f"{name} read" if source == key else
                             f"{name} taken from the {source[0]} {source[1]} readings")
                break
        else:
            estimates = ESTIMATED_MEMORY.get((model, "cpu" if accelerator == CPU else "gpu"), {})
            if name in estimates:
                fields[name] = estimates[name]
                notes.append(f"{name} estimated (no reading): {fields[name]:g} MiB")
    load_s = memory.get(key, Memory()).load_s
    if load_s:
        fields["load_time_s"] = central(load_s)
        notes.append(f"load_time_s read ({len(load_s)} scale-ups)")
    return fields, notes


def profile(key: tuple[str, str], theta: dict[str, float], memory: dict[tuple[str, str], Memory]) -> ModelProfile:
    fields, _ = measured_fields(key, memory)
    return ModelProfile(name=f"{key[0]}-{key[1]}", **demands(theta)[key], **fields)
