"""An accelerator a worker runs on: a whole GPU (shared by time-slicing or MPS) or one MIG slice.

Fidelity ledger — upstream: NVIDIA k8s-device-plugin time-slicing and MPS sharing docs, NVIDIA MIG user guide (A100
profiles). Modelled: memory is a hard capacity (an allocation that does not fit fails, as CUDA OOM does; time-sliced
and MPS replicas share one pool, MIG slices have their own); compute is shared among the processes with work on the
device as twin/gpu/sharing.py describes (kernel time against host launch/sync time, time-slicing, MPS, MIG slice
speed), with the device model's parameters unless the node pool or a calibrated profile gives them. Not modelled:
memory bandwidth contention between MIG slices, clocks and power capping, ECC/Xid faults.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import simpy

from twin.config.schema import MIG_PROFILES, GpuSpec, ModelProfile
from twin.gpu.sharing import Sharing, device_model
from twin.kernel.ps import SharedProcessor


class Accelerator:
    """One compute-and-memory domain."""

    __slots__ = ("name", "memory_mib", "used_mib", "compute", "peak_mib")

    def __init__(self, env: simpy.Environment, *, name: str, memory_mib: float, sharing: Sharing) -> None:
        self.name = name
        self.memory_mib = memory_mib
        self.used_mib = 0.0
        self.peak_mib = 0.0
        # work in whole-GPU seconds of the phase alone; "capacity used" is the share of time a kernel runs (NVML)
        self.compute = SharedProcessor(env, *sharing.functions())

    @property
    def kernel_seconds(self) -> float:
        """Seconds in which at least one kernel ran (what NVML's utilisation integrates); settle() first."""
        return self.compute.work_area

    def allocate(self, mib: float) -> bool:
        """Reserve `mib` of device memory; False (nothing reserved) if it does not fit."""
        if self.used_mib + mib > self.memory_mib + 1e-9:
            return False
        self.used_mib += mib
        self.peak_mib = max(self.peak_mib, self.used_mib)
        return True

    def free(self, mib: float) -> None:
        self.used_mib = max(0.0, self.used_mib - mib)


@dataclass(eq=False)
class DeviceUnit:
    """One unit the device plugin advertises: a GPU, a time-sliced replica of one, or a MIG slice."""

    resource: str  # nvidia.com/gpu or nvidia.com/mig-<profile>
    accelerator: Accelerator
    pod: object | None = None  # the pod it is allocated to


def build_units(env: simpy.Environment, spec: GpuSpec, profile: ModelProfile, node: str) -> list[DeviceUnit]:
    """The units a node's GPUs advertise under the spec's sharing mode."""
    units: list[DeviceUnit] = []
    memory_mib = spec.memory_gib * 1024
    whole_gpu = sharing_of(spec, profile)
    for index in range(spec.count):
        name = f"{node}/gpu{index}"
        if spec.sharing.mode == "mig":
            for slot, mig in enumerate(spec.sharing.mig_profiles):
                compute, gib = MIG_PROFILES[mig]
                on_slice = replace(whole_gpu, mode="time-slicing",
                                   slice_speed=(compute / 7) ** profile.mig_speed_exponent)
                slice_ = Accelerator(env, name=f"{name}/mig{slot}-{mig}", memory_mib=gib * 1024, sharing=on_slice)
                units.append(DeviceUnit(f"nvidia.com/mig-{mig}", slice_))
            continue
        whole = Accelerator(env, name=name, memory_mib=memory_mib, sharing=whole_gpu)
        replicas = spec.sharing.replicas if spec.sharing.mode in ("time-slicing", "mps") else 1
        units.extend(DeviceUnit("nvidia.com/gpu", whole) for _ in range(replicas))
    return units


def sharing_of(spec: GpuSpec, profile: ModelProfile) -> Sharing:
    """The sharing a profile's work meets on a whole GPU of the spec: the node pool's own parameters first, then the
    value a calibrated profile found for its accelerator, then the device model's prior."""
    device = device_model(spec.model)
    efficiency = spec.timeslice_efficiency or profile.timeslice_efficiency or device.timeslice_efficiency
    return Sharing(mode="mps" if spec.sharing.mode == "mps" else "time-slicing", timeslice_efficiency=efficiency,
                   mps_capacity=spec.mps_capacity or device.mps_capacity, kernel_share=profile.gpu_busy_fraction)


def accelerators(units: list[DeviceUnit]) -> list[Accelerator]:
    """Distinct accelerators behind the units, in order."""
    seen: dict[int, Accelerator] = {}
    for unit in units:
        seen.setdefault(id(unit.accelerator), unit.accelerator)
    return list(seen.values())
