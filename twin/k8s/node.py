"""A Kubernetes node: allocatable resources, the pods bound to it, its CPUs and GPUs.

Fidelity ledger — upstream: Kubernetes scheduler NodeResourcesFit, NVIDIA device plugin, Linux CFS.
Modelled: allocatable cpu/memory/extended resources against the sum of pod requests; CPU as processor sharing over
the vCPUs (a request keeps `cpu_threads` cores busy; when busy threads outnumber cores every thread slows in
proportion, times a calibrated oversubscription penalty for the model's own threads beyond the cores); other work
sharing the node as `background_threads` runnable threads that take their fair share (CFS gives every runnable thread
an equal share: Documentation/scheduler/sched-design-CFS.rst, "an ideal, precise multi-tasking CPU"); the node's
memory as the sum of its pods' RSS, with the kernel's OOM killer taking the pod furthest above its request when the node runs out; the serving image cached after
the first pull. Not modelled: CPU limits (CFS quota), system daemons' load, NUMA, hugepages, disk.
"""
from __future__ import annotations

import simpy

from twin.config.schema import ModelProfile, NodePool
from twin.gpu.device import DeviceUnit, accelerators, build_units
from twin.kernel.ps import SharedProcessor

MIB = 1024 * 1024


def cpu_speed(vcpus: float, threads: float, penalty: float, background: float = 0.0):
    """Per-job speed with n jobs on the CPUs (1.0 = as on an idle node): each runnable thread's fair share of the
    cores, `background` threads of other work included, slowed by the penalty where the model's own threads
    outnumber the cores."""

    def speed_of(n: int) -> float:
        own = n * threads
        busy = own + background
        if busy <= vcpus:
            return 1.0
        return vcpus / busy / (1.0 + penalty * max(0.0, own / vcpus - 1.0))

    return speed_of


class Node:
    def __init__(self, env: simpy.Environment, *, name: str, pool: NodePool, profile: ModelProfile,
                 devices_ready_at: float | None = None) -> None:
        self.env = env
        # GPU nodes advertise no nvidia.com/* resources until the driver and device plugin are up
        self.devices_ready_at = env.now if devices_ready_at is None else devices_ready_at
        self.name = name
        self.pool = pool
        self.created_at = env.now
        self.removed_at: float | None = None
        self.pods: list = []
        self.image_ready_at: float | None = env.now if pool.image_cached else None
        self.allocatable = {
            "cpu": pool.allocatable_cpu or pool.vcpus,
            "memory": (pool.allocatable_memory_gib or pool.memory_gib) * 1024 * MIB,
        }
        self.memory_mib = pool.memory_gib * 1024
        self.units: list[DeviceUnit] = build_units(env, pool.gpus, profile, name) if pool.gpus else []
        for unit in self.units:
            self.allocatable[unit.resource] = self.allocatable.get(unit.resource, 0) + 1
        threads, background = profile.cpu_threads, pool.background_threads
        self.cpu = SharedProcessor(
            env, cpu_speed(pool.vcpus, threads, profile.cpu_oversubscription_penalty, background),
            lambda n: n * threads * min(1.0, pool.vcpus / max(1e-9, n * threads + background)))

    @property
    def accelerators(self):
        return accelerators(self.units)

    def requested(self, resource: str) -> float:
        return sum(pod.requests.get(resource, 0.0) for pod in self.pods)

    @property
    def devices_ready(self) -> bool:
        return self.env.now >= self.devices_ready_at

    def allocatable_now(self, resource: str) -> float:
        if resource.startswith("nvidia.com/") and not self.devices_ready:
            return 0.0
        return self.allocatable.get(resource, 0.0)

    def fits(self, requests: dict[str, float]) -> bool:
        return not self.short_of(requests)

    def short_of(self, requests: dict[str, float]) -> list[str]:
        """The resources whose free allocatable is below `requests`, in the order requested."""
        return [name for name, amount in requests.items()
                if amount > 0 and self.requested(name) + amount > self.allocatable_now(name) + 1e-9]

    def free_fraction(self, requests: dict[str, float]) -> float:
        """LeastAllocated score: mean free share of cpu and memory after placing the pod."""
        shares = [(self.allocatable[r] - self.requested(r) - requests.get(r, 0.0)) / self.allocatable[r]
                  for r in ("cpu", "memory")]
        return sum(shares) / len(shares)

    def take_units(self, resource: str, count: int, pod: object) -> list[DeviceUnit]:
        """Allocate device-plugin units, spreading over distinct physical devices first."""
        free = [u for u in self.units if u.resource == resource and u.pod is None]
        in_use = {id(u.accelerator) for u in self.units if u.pod is not None}
        free.sort(key=lambda u: id(u.accelerator) in in_use)
        chosen = free[:count]
        for unit in chosen:
            unit.pod = pod
        return chosen

    @property
    def rss_mib(self) -> float:
        return sum(pod.rss_mib for pod in self.pods)

    def gpu_requested(self) -> float:
        return sum(self.requested(name) for name in self.allocatable if name.startswith("nvidia.com/"))
