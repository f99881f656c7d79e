"""An accelerator a worker runs on: a whole GPU (shared by time-slicing) or one MIG slice.

Fidelity ledger — upstream: NVIDIA k8s-device-plugin time-slicing docs, NVIDIA MIG user guide (A100 profiles).
Modelled: memory is a hard capacity (an allocation that does not fit fails, as CUDA OOM does; time-sliced replicas
share one pool, MIG slices have their own); compute is processor sharing among the processes with work on the
device, at `timeslice_efficiency` of full speed once two or more contexts alternate; a MIG slice with g of 7
compute slices runs at (g/7) ** mig_speed_exponent of a whole GPU. Not modelled: MPS, memory bandwidth
contention between MIG slices, clocks and power capping, ECC/Xid faults.
"""
from __future__ import annotations

from dataclasses import dataclass

import simpy

from twin.config.schema import MIG_PROFILES, GpuSpec, ModelProfile
from twin.kernel.ps import SharedProcessor


class Accelerator:
    """One compute-and-memory domain."""

    __slots__ = ("name", "memory_mib", "used_mib", "compute", "peak_mib")

    def __init__(self, env: simpy.Environment, *, name: str, memory_mib: float, speed: float,
                 timeslice_efficiency: float) -> None:
        self.name = name
        self.memory_mib = memory_mib
        self.used_mib = 0.0
        self.peak_mib = 0.0

        def speed_of(n: int) -> float:
            return speed / n * (1.0 if n == 1 else timeslice_efficiency)

        self.compute = SharedProcessor(env, speed_of, lambda n: 1.0)

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
    for index in range(spec.count):
        name = f"{node}/gpu{index}"
        if spec.sharing.mode == "mig":
            for slot, mig in enumerate(spec.sharing.mig_profiles):
                compute, gib = MIG_PROFILES[mig]
                slice_ = Accelerator(env, name=f"{name}/mig{slot}-{mig}", memory_mib=gib * 1024,
                                     speed=(compute / 7) ** profile.mig_speed_exponent,
                                     timeslice_efficiency=profile.timeslice_efficiency)
                units.append(DeviceUnit(f"nvidia.com/mig-{mig}", slice_))
            continue
        whole = Accelerator(env, name=name, memory_mib=memory_mib, speed=1.0,
                            timeslice_efficiency=profile.timeslice_efficiency)
        replicas = spec.sharing.replicas if spec.sharing.mode == "time-slicing" else 1
        units.extend(DeviceUnit("nvidia.com/gpu", whole) for _ in range(replicas))
    return units


def accelerators(units: list[DeviceUnit]) -> list[Accelerator]:
    """Distinct accelerators behind the units, in order."""
    seen: dict[int, Accelerator] = {}
    for unit in units:
        seen.setdefault(id(unit.accelerator), unit.accelerator)
    return list(seen.values())
