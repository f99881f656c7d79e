"""How several processes share one GPU, as the hardware does it: the device model's sharing parameters and the speed
each process's accelerator phase runs at.

Fidelity ledger — upstream: NVIDIA GPU Operator "Time-Slicing GPUs in Kubernetes" (replicas interleave, no memory or
fault isolation), NVIDIA MPS documentation (one shared context, kernels of different clients run concurrently on
different SMs), NVIDIA MIG user guide (isolated SM and memory slices), NVML `nvmlDeviceGetUtilizationRates` (GPU
utilisation = share of the sample period in which at least one kernel was executing).
Modelled: a request's accelerator phase (`gpu_ms` alone on a whole GPU) is kernel time, the share
`gpu_busy_fraction` of it, plus host-side launch and synchronisation time that overlaps other processes' kernels.
With n phases in progress on one device, each runs at min(alone, capacity(n) / (n · kernel share)): processes only
slow each other once their kernels together need more than the device has (a fluid limit: a context whose queue has
drained between two launches leaves the device to one with kernels pending, so the host-side share of n processes
overlaps; kernels of different contexts never run at once, CUDA C++ Programming Guide, "Concurrent Kernel
Execution"). A time-sliced device therefore saturates at `timeslice_efficiency` / kernel ms requests per second
whatever the number of processes: roberta-base at batch 1 on the A100 (NVML 33-40 % at ~122 req/s in the study,
~2.7-3.3 ms of kernels a request) near 0.95 / 2.95 ms ~ 320 req/s, approached once more than `timeslice_efficiency` /
`gpu_busy_fraction` (about 2) phases are in progress at once (benchmarks/envelope.py). Capacity is 1 for one
context; several contexts time-slice the device, keeping `timeslice_efficiency` of it for kernels (the rest goes to
context switches); under MPS kernels of up to `mps_capacity` clients run side by side; a MIG slice of g of 7 compute
slices runs kernels (g/7) ** mig_speed_exponent as fast, its host time unchanged. The sharing parameters belong to
the device (DEVICES: A100, A10 vGPU, others), a node pool may override them, and a calibrated profile carries the
value its fit found for its accelerator.
Priors, with their sources:
  - timeslice_efficiency 0.95 on a bare-metal GPU: a compute context switch costs tens of microseconds (CUPTI's
    CUpti_ActivityComputeEngineCtxSwitch records them) against slices of about a millisecond (an idle context keeps
    the GPU ~0.8-1 ms before it is switched out, NVIDIA developer forum "How does the GPU decide when to switch-out a
    CUDA context?"); Gilman & Walls, "Characterizing Concurrency Mechanisms for NVIDIA GPUs under Deep Learning
    Workloads" (arXiv 2110.00459, Ampere) find time-slicing serialises kernels without throughput collapse.
  - a vGPU profile (A10-4Q) is time-sliced once more by the hypervisor's vGPU scheduler (NVML vGPU scheduler:
    a `timeslice` per run list, best-effort / equal-share / fixed-share policies), so its contexts switch at the
    vGPU's slice as well: prior 0.85, and the study's one time-sliced A10 run informs it.
  - mps_capacity 3 for batch-1 inference of small models: MPS lets kernels of different processes overlap when
    each leaves SMs idle (Databricks, "Scaling small LLMs with NVIDIA MPS", 2025: throughput wins for small models
    and CPU-heavy engines; NVIDIA MPS docs: up to 48 clients on Volta and later).
  - a device no run has measured is predicted from its vendor specs against one that was (`kernel_time_ratio`):
    batch-1 kernels of small models are short and bound by memory bandwidth or by fixed per-kernel latency, larger
    ones by tensor throughput, so the ratio of kernel times lies between 1 (latency-bound: a few us per kernel on
    any recent part) and the bandwidth and tensor-throughput ratios; its geometric centre is the prior, that range
    its 95 % width. Specs from NVIDIA's datasheets: A100 80GB PCIe 1935 GB/s HBM2e, 312 dense FP16 tensor
    TFLOPS; A100 SXM 2039 GB/s; A10 600 GB/s GDDR6, 125 dense FP16 tensor TFLOPS; H100 PCIe 2000 GB/s, 756; L4
    300 GB/s, 121; T4 320 GB/s, 65; V100 SXM2 900 GB/s, 125.
  - a vGPU profile runs on its share of the board: the NVIDIA vGPU scheduler (Virtual GPU Software User Guide,
    "Scheduling policies") gives a vGPU the idle time of its neighbours under best effort (the default), 1/N of the
    time with N vGPUs running under equal share, 1/(the profile's maximum vGPUs per board) under fixed share; an
    A10-4Q is 4 of the A10's 24 GB, six to a board. Its kernel time is the board's divided by a share between 1/6 and
    1, geometric centre 1/sqrt(6), its range part of the prior's width.
Not modelled: memory-bandwidth and L2 interference between concurrent kernels, clocks and power capping, MPS's
active-thread percentage, priority between contexts.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class DeviceModel:
    """The sharing behaviour of one kind of GPU."""

    family: str
    timeslice_efficiency: float  # device time left to kernels while two or more contexts alternate
    mps_capacity: float  # clients whose batch-1 kernels run side by side under MPS


# By the name nvidia-smi prints; the first match wins, so a vGPU profile comes before its family.
DEVICES: tuple[tuple[str, DeviceModel], ...] = (
    (r"-\d+Q\b", DeviceModel("vGPU", timeslice_efficiency=0.85, mps_capacity=1.0)),  # MPS is not offered on vGPU
    (r"A100|H100|A30", DeviceModel("datacenter", timeslice_efficiency=0.95, mps_capacity=3.0)),
    (r"", DeviceModel("gpu", timeslice_efficiency=0.95, mps_capacity=3.0)),
)


@dataclass(frozen=True)
class Specs:
    """Vendor figures that set a device's batch-1 kernel time against another's."""

    memory_gbps: float
    tensor_tflops: float  # dense FP16
    shares: float = 1.0  # vGPUs of this profile per board (its time share lies between 1/shares and 1)


# By the name nvidia-smi prints; first match wins (a size or form factor before its family).
SPECS: tuple[tuple[str, Specs], ...] = (
    (r"A10-(\d+)Q\b", Specs(600, 125)),  # shares from the profile's GiB: 24 / N
    (r"A100.*SXM", Specs(2039, 312)),
    (r"A100", Specs(1935, 312)),
    (r"H100", Specs(2000, 756)),
    (r"A10G?\b", Specs(600, 125)),
    (r"L4\b", Specs(300, 121)),
    (r"T4\b", Specs(320, 65)),
    (r"V100", Specs(900, 125)),
)
A10_BOARD_GIB = 24


def specs_of(name: str) -> Specs | None:
    upper = name.upper()
    for pattern, specs in SPECS:
        found = re.search(pattern, upper)
        if found:
            shares = A10_BOARD_GIB / int(found[1]) if found.groups() else specs.shares
            return Specs(specs.memory_gbps, specs.tensor_tflops, shares)
    return None


def kernel_time_ratio(device: str, reference: str) -> tuple[float, float]:
    """(centre, log sd) of the prior on kernel time on `device` over kernel time on `reference`, from their specs
    (module docstring): the hardware's ratio lies between 1 and the larger spec ratio, a vGPU's time share between
    1 and its shares per board; the prior is the geometric centre of that range, the range its 95 % width."""
    a, b = specs_of(device), specs_of(reference)
    if a is None or b is None:
        raise ValueError(f"no specs for {device if a is None else reference!r}")
    ratios = (1.0, b.memory_gbps / a.memory_gbps, b.tensor_tflops / a.tensor_tflops)
    low, high = min(ratios) / b.shares, max(ratios) * a.shares
    return math.sqrt(low * high), max(0.5 * math.log(high / low), math.log(1.5)) / 1.96


def device_model(name: str) -> DeviceModel:
    """The device model of a GPU as nvidia-smi names it ('NVIDIA A10 (vGPU profile A10-4Q)')."""
    upper = name.upper()
    return next(model for pattern, model in DEVICES if re.search(pattern, upper))


@dataclass(frozen=True)
class Sharing:
    """What one accelerator phase meets on one device: how contexts share it, and the work's kernel share."""

    mode: str  # "time-slicing" (several contexts, the default for CUDA) or "mps"
    timeslice_efficiency: float
    mps_capacity: float
    kernel_share: float  # of the accelerator phase alone on a whole GPU, the device-busy part
    slice_speed: float = 1.0  # kernel speed of a MIG slice relative to the whole GPU

    def capacity(self, n: int) -> float:
        """Kernel time per second the device gives n processes with work on it."""
        if n <= 1:
            return 1.0
        if self.mode == "mps":
            return min(float(n), self.mps_capacity)
        return self.timeslice_efficiency

    def alone(self) -> float:
        """Speed of one phase on the device, in whole-GPU seconds per second."""
        return 1.0 / ((1.0 - self.kernel_share) + self.kernel_share / self.slice_speed)

    def speed_of(self, n: int) -> float:
        """Speed of each of n phases in progress."""
        if self.kernel_share <= 0.0:
            return self.alone()
        return min(self.alone(), self.capacity(n) * self.slice_speed / (n * self.kernel_share))

    def kernels_running(self, n: int) -> float:
        """Share of time at least one kernel runs with n phases in progress (NVML's GPU utilisation): time-sliced
        contexts run their kernels one after another; MPS clients' kernels overlap as if independent."""
        each = min(1.0, self.speed_of(n) * self.kernel_share / self.slice_speed)
        if self.mode == "mps":
            return 1.0 - (1.0 - each) ** n
        return min(1.0, n * each)

    def functions(self) -> tuple[Callable[[int], float], Callable[[int], float]]:
        return self.speed_of, self.kernels_running
