"""The physical parameters calibration fits, and how they become one ModelProfile per (model, accelerator).

Parameters are shared where the physics is shared, so that every run informs every profile it can:
  - `frontend_*` is the time outside the worker: TorchServe's frontend plus the source client's network round trip
    (the A10 and A100 runs came from different places on different days); the CPU runs share the A10 node's client.
    DETR's extra upload (a 4.9 kB JPEG against a short phrase) is taken to cost the same on both clusters:
    frontend(A10, detr) = frontend(A10, roberta) + frontend(A100, detr) − frontend(A100, roberta).
  - a model's CPU time per request on a GPU node (`cpu_*_gpunode`: tokenising or image pre-processing, Python) and
    its host-side kernel launch and synchronisation time (`launch_*`: one per op, the same count on any GPU) are one
    number each on both GPU nodes (AMD EPYC hosts of similar clocks);
  - `gpu_*` is kernel time (device busy); the A10-4Q vGPU's slowdown against the A100 is one factor for both
    models: kernel(A10, detr) = kernel(A100, detr) · kernel(A10, roberta) / kernel(A100, roberta);
  - `timeslice_*` (device time left to kernels while contexts alternate) belongs to the device, one per device
    (twin/gpu/sharing.py has the priors), shared by every profile on it;
  - `spin_ms` (CPU a torch pool's threads burn spinning at one barrier once the cores are contended) belongs to the
    threading runtime, so every profile shares it; a profile's `cpu_oversubscription_penalty` (twin/k8s/node.py) is
    spin_ms times its barriers per ms of CPU work (BARRIERS): fine-grained roberta spins far more per ms than
    DETR's large convolutions (Iancu et al.: the cost of oversubscription is set by how often threads synchronise).
    The study's profiles have no idle barrier waits (`parallel_regions` 0): in its one oversubscribed run htop shows
    every core at 100 % and the workers' CPU summing to 578 %, so the throughput lost was CPU burnt, not cores idle.
Fixed, not fitted: roberta's GPU-node worker keeps one thread busy (htop: ~21 % of a core per worker at ~24 req/s);
a CPU worker, and DETR's GPU-node worker, run torch's default intra-op pool, one thread per core (`cpu_threads:
cores`; the A100 node's 5- and 15-minute load average stood at ~54 on 24 cores after the DETR runs: pools, not single
threads); demands are lognormal with cv 0.2 (no per-request latency spread was recorded to fit it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from calibration.mapping import A10, A100, CPU
from calibration.readings import Memory, central
from twin.config.schema import ModelProfile
from twin.gpu.sharing import kernel_time_ratio

ROB, DETR = "roberta-base-go_emotions", "detr-resnet-50"


@dataclass(frozen=True)
class Parameter:
    name: str
    initial: float
    lower: float
    upper: float
    meaning: str


# Time outside the worker of a client on the public Internet: TorchServe's frontend (~1-2 ms, the JVM readings) plus
# the round trip to an Azure region, 10-40 ms between regions of one continent and 70-150 ms across an ocean
# ("Azure network round-trip latency statistics", Microsoft Learn): 95 % within 10-150 ms, centre their geometric mean.
CLIENT_RTT_MS = (math.sqrt(10 * 150), 0.5 * math.log(150 / 10) / 1.96)

PARAMETERS = (
    Parameter("frontend_a100_rob", CLIENT_RTT_MS[0], 0.5, 300, "ms outside the worker, roberta, A100 client"),
    Parameter("frontend_a100_detr", CLIENT_RTT_MS[0], 0.5, 300, "ms outside the worker, detr, A100 client"),
    Parameter("frontend_a10_rob", CLIENT_RTT_MS[0], 0.5, 300, "ms outside the worker, roberta, A10 client"),
    Parameter("cpu_rob_gpunode", 5.0, 0.2, 100, "CPU ms per roberta request on a GPU node"),
    Parameter("launch_rob", 3.6, 0.1, 100, "host launch/sync ms per roberta request on a GPU"),
    Parameter("gpu_rob_a100", 3.0, 0.1, 100, "kernel ms per roberta request on the A100"),
    Parameter("gpu_rob_a10", 10.0, 0.1, 200, "kernel ms per roberta request on the A10-4Q vGPU"),
    Parameter("timeslice_a100", 0.95, 0.2, 1.0, "A100: device time left to kernels while contexts alternate"),
    Parameter("timeslice_a10", 0.85, 0.2, 1.0, "A10-4Q vGPU: device time left to kernels while contexts alternate"),
    Parameter("cpu_rob_cpu", 28, 1, 1000, "CPU ms per roberta request on an idle 6-vCPU node"),
    Parameter("spin_ms", 0.3, 1e-3, 30, "ms a pool burns spinning at one barrier once the cores are contended"),
    Parameter("cpu_detr_gpunode", 25, 0.5, 2000, "CPU ms per detr request on a GPU node"),
    Parameter("launch_detr", 5.5, 0.1, 500, "host launch/sync ms per detr request on a GPU"),
    Parameter("gpu_detr_a100", 35, 0.5, 2000, "kernel ms per detr request on the A100"),
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

# Priors as (centre, log sd), each from a count or a published figure:
#  - launch: eager PyTorch spends ~5-25 us of host time per op before its kernel runs (Python, dispatcher, driver:
#    J. Lin, "From PyTorch op to kernel launch"; CUDA's launch alone ~1-3 us); roberta-base on 12 tokens runs ~320
#    ops (12 layers x ~25 + embeddings and head), DETR-R50 ~500 (53 conv+bn+relu, 6 encoder and 6 decoder layers, heads):
#    centre 11 us per op, 95 % within a factor 2.3.
#  - timeslice: twin/gpu/sharing.py (A100 0.95 +- 0.05 from context-switch cost against slice length; a vGPU,
#    sliced again by its hypervisor, 0.85 +- 0.15).
PRIORS = {
    "launch_rob": (320 * 0.011, math.log(2.3) / 1.96),
    "launch_detr": (500 * 0.011, math.log(2.3) / 1.96),
}
TIMESLICE_PRIORS = {"timeslice_a100": (0.95, 0.05), "timeslice_a10": (0.85, 0.15)}
# The A10-4Q's kernel time against the A100's from the two devices' specs and the vGPU's time share (twin/gpu/
# sharing.py, kernel_time_ratio): centre 4.4, 95 % within 1-19; the GPUs as nvidia-smi names the study's nodes'.
A10_KERNEL_RATIO = kernel_time_ratio("NVIDIA A10 (vGPU profile A10-4Q)", "NVIDIA A100 80GB PCIe")
# A cross-check, not a prior: DETR-R50 takes 0.036 s an image at 800 px on a V100 (facebookresearch/detr README, model
# zoo `inf_time`, TorchScript transformer); scaled to the A100 by spec (twin/gpu/sharing.py kernel_time_ratio, centre
# 0.63) that is ~23 ms (95 % 12-42) against the fit's ~43 ms of kernels and launches. As a prior it fought the A10
# DETR run through the A10/A100 factor both models share (leave-one-out +33 % on that run), so it is not one.
# Spin at a stalled barrier: libgomp's threads spin GOMP_SPINCOUNT = 300,000 times before they sleep when
# OMP_WAIT_POLICY is unset (GCC libgomp manual, "GOMP_SPINCOUNT"); measured here that limit is 7-8 ms (~25 ns an
# iteration: twin/k8s/idle_spin.py), but a stalled barrier's spin ends when the descheduled sibling is back, which
# two pools of torch models on two cores put at 0.1-0.5 ms (benchmarks/parallel_regions.py --contention, noisy): centre
# 0.3 ms, 95 % within a factor 10 (from a sibling back within a tick's fraction to the spin limit).
PRIORS["spin_ms"] = (0.3, math.log(10) / 1.96)
# Barriers per request where a torch pool fans out: on short inputs element-wise ops stay below ATen's grain size
# (32768 elements) and only GEMMs and convolutions do: roberta-base 12 x 6 linears + pooler and classifier = 74;
# DETR-R50 53 convolutions + 36 encoder and 60 decoder linears + heads ~ 155; DETR's GPU-node CPU phase (resize,
# normalise, pad, box post-processing) ~ 20 ops.
BARRIERS = {(ROB, "cpu"): 74.0, (DETR, "cpu"): 155.0, (DETR, "gpunode"): 20.0}


def _spin(t: dict[str, float], barriers: float, cpu_ms: float) -> dict[str, float]:
    return {"cpu_oversubscription_penalty": t["spin_ms"] * barriers / cpu_ms}


def priors(theta: dict[str, float], observed: set[tuple[str, str]]) -> list[tuple[str, float]]:
    """Weak physical priors as (name, standardised residual): they only matter where the runs say little.

    DETR's pre-processing and its A100 compute are of the same order (a 800-px resize + normalise vs a ResNet-50 +
    transformer pass); a 4.9 kB JPEG fits TCP's first flight, so DETR's time outside the worker is roberta's within
    a factor 2; each cluster's client reached its Azure region over the public Internet (CLIENT_RTT_MS), so that a
    fit without a cluster's unqueued runs neither leaves its client at the start value nor lets other runs' misfit
    drive it to a bound; the counts and figures of PRIORS and TIMESLICE_PRIORS; the A10-4Q's kernel time against the
    A100's from their specs (A10_KERNEL_RATIO), so that a fit without A10 runs still predicts them. Fallback only
    when no run of DETR on CPU is fitted (it would otherwise tie roberta's CPU time to DETR's):
    `_detr_cpu_fallback`."""
    out = [(f"client_round_trip_{name}", math.log(theta[name] / CLIENT_RTT_MS[0]) / CLIENT_RTT_MS[1])
           for name in ("frontend_a100_rob", "frontend_a10_rob")]
    out += [
        ("detr_cpu_vs_gpu_share", math.log(theta["cpu_detr_gpunode"] / theta["gpu_detr_a100"]) / math.log(4)),
        ("detr_frontend_like_roberta", math.log(theta["frontend_a100_detr"] / theta["frontend_a100_rob"])
         / math.log(2)),
    ]
    out += [(name, math.log(theta[name] / centre) / sd) for name, (centre, sd) in PRIORS.items()]
    out += [(name, (theta[name] - centre) / sd) for name, (centre, sd) in TIMESLICE_PRIORS.items()]
    centre, sd = A10_KERNEL_RATIO
    out.append(("a10_kernel_from_specs", math.log(theta["gpu_rob_a10"] / theta["gpu_rob_a100"] / centre) / sd))
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
    rob_gpunode = {"cpu_ms": t["cpu_rob_gpunode"], "cpu_threads": 1.0}
    detr_gpunode = {"cpu_ms": t["cpu_detr_gpunode"], "cpu_threads": "cores",
                    **_spin(t, BARRIERS[(DETR, "gpunode")], t["cpu_detr_gpunode"])}
    cpu = {"device": "cpu", "cpu_threads": "cores", "gpu_ms": 0.0}
    return {
        (ROB, A100): {**rob_gpunode, **_gpu(t["gpu_rob_a100"], t["launch_rob"], t["timeslice_a100"]),
                      "frontend_ms": t["frontend_a100_rob"]},
        (ROB, A10): {**rob_gpunode, **_gpu(t["gpu_rob_a10"], t["launch_rob"], t["timeslice_a10"]),
                     "frontend_ms": t["frontend_a10_rob"]},
        (ROB, CPU): {**cpu, "cpu_ms": t["cpu_rob_cpu"], **_spin(t, BARRIERS[(ROB, "cpu")], t["cpu_rob_cpu"]),
                     "frontend_ms": t["frontend_a10_rob"]},
        (DETR, A100): {**detr_gpunode, **_gpu(t["gpu_detr_a100"], t["launch_detr"], t["timeslice_a100"]),
                       "frontend_ms": t["frontend_a100_detr"]},
        (DETR, A10): {**detr_gpunode, **_gpu(t["gpu_detr_a100"] * a10_factor, t["launch_detr"], t["timeslice_a10"]),
                      "frontend_ms": frontend_a10_detr},
        (DETR, CPU): {**cpu, "cpu_ms": t["cpu_detr_cpu"], **_spin(t, BARRIERS[(DETR, "cpu")], t["cpu_detr_cpu"]),
                      "frontend_ms": frontend_a10_detr},
    }


def _gpu(kernel_ms: float, launch_ms: float, timeslice: float) -> dict[str, float]:
    """Accelerator fields of a GPU profile: the phase is kernel plus launch time, its device's slicing efficiency."""
    return {"device": "gpu", "gpu_ms": kernel_ms + launch_ms, "gpu_busy_fraction": kernel_ms / (kernel_ms + launch_ms),
            "timeslice_efficiency": timeslice}


def kernel_ms(fields: dict) -> float:
    """Device-busy ms per request of a profile's fields: what NVML's utilisation over throughput measures."""
    return fields["gpu_ms"] * fields.get("gpu_busy_fraction", 1.0)


def host_core_ms(fields: dict, vcpus: float) -> float:
    """Core-ms per request on the node (what htop's per-process CPU% over throughput measures): the pool's CPU
    phase and the thread that launches kernels and waits for them."""
    threads = float(vcpus) if fields.get("cpu_threads") == "cores" else fields.get("cpu_threads", 1.0)
    launch = fields.get("gpu_ms", 0.0) * (1.0 - fields.get("gpu_busy_fraction", 1.0))
    return fields["cpu_ms"] * threads + launch


# Memory where nothing was read, argued from what was: a worker's CUDA context and runtime take ~990 MiB on the
# A100 (roberta's 1488 MiB idle minus its 476 MiB of fp32 weights); DETR's weights are 159 MiB, and its activations at
# 800 px add roughly what roberta's first inference adds (380 MiB). Marked as estimates in the provenance.
# On a CPU node roberta's worker holds 838 MiB; DETR's holds its smaller weights but bigger activations: ~700 MiB.
ESTIMATED_MEMORY = {
    (DETR, "gpu"): {"gpu_memory_mib": 1530.0, "gpu_memory_idle_mib": 1150.0, "worker_rss_mib": 2800.0},
    (DETR, "cpu"): {"worker_rss_mib": 700.0},
}


def measured_fields(key: tuple[str, str], memory: dict[tuple[str, str], Memory]
                    ) -> tuple[dict[str, float], list[str], list[str]]:
    """Memory fields of a profile from its readings, else from a sibling profile's, else the estimates above; the
    worker load time from its own readings only (a GPU worker's includes starting CUDA on that GPU). Returns the
    fields, a note on each, and the names of those no reading gave (estimated, or left at the schema's default)."""
    model, accelerator = key
    sources = [key, (model, A100), (model, A10)] if accelerator != CPU else [key]
    fields, notes, assumed = {}, [], []
    for name, attribute in (("gpu_memory_mib", "gpu_served"), ("gpu_memory_idle_mib", "gpu_idle"),
                            ("worker_rss_mib", "worker_rss"), ("frontend_rss_mib", "frontend_rss"),
                            ("frontend_cpu_ms", "frontend_cpu_ms")):
        if accelerator == CPU and name.startswith("gpu_"):
            continue
        for source in sources + [(ROB, accelerator), (ROB, A100)] * name.startswith("frontend_"):
            value = central(getattr(memory.get(source, Memory()), attribute))
            if value is not None:
                fields[name] = value
                notes.append(f"{name} read" if source == key else
                             f"{name} taken from the {source[0]} {source[1]} readings")
                break
        else:
            assumed.append(name)
            estimates = ESTIMATED_MEMORY.get((model, "cpu" if accelerator == CPU else "gpu"), {})
            if name in estimates:
                fields[name] = estimates[name]
                notes.append(f"{name} estimated (no reading): {fields[name]:g} MiB")
    load_s = memory.get(key, Memory()).load_s
    if load_s:
        fields["load_time_s"] = central(load_s)
        notes.append(f"load_time_s read ({len(load_s)} scale-ups)")
    else:
        assumed.append("load_time_s")
    return fields, notes, assumed


# Fields of the study's profiles that no run identifies: no run was batched, no per-request latencies were recorded,
# and no run of DETR has two busy workers (its pool's spin under oversubscription is the runtime's, from roberta).
STUDY_ASSUMED = {key: ("gpu_ms_per_extra_item", "demand_cv") for key in STUDY_KEYS}
for _key in ((DETR, A100), (DETR, A10), (DETR, CPU)):
    STUDY_ASSUMED[_key] += ("cpu_oversubscription_penalty",)


def profile(key: tuple[str, str], theta: dict[str, float], memory: dict[tuple[str, str], Memory]) -> ModelProfile:
    fields, _, assumed = measured_fields(key, memory)
    return ModelProfile(name=f"{key[0]}-{key[1]}", **demands(theta)[key], **fields,
                        assumed=tuple(sorted(set(assumed) | set(STUDY_ASSUMED[key]))))
