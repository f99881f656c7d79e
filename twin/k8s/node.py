"""A Kubernetes node: allocatable resources, the pods bound to it, its CPUs and GPUs.

Fidelity ledger — upstream: Kubernetes scheduler NodeResourcesFit, NVIDIA device plugin, Linux CFS/EEVDF (kernel/
sched/fair.c: sysctl_sched_min_granularity / sched_base_slice 0.75 ms x (1 + ilog2(min(ncpus, 8))), enforced at the
scheduler tick, HZ=250 by default), PyTorch "CPU threading and TorchScript
inference" notes (intra-op pool: one thread per core in every process unless torch.set_num_threads / OMP_NUM_THREADS).
Modelled: allocatable cpu/memory/extended resources against the sum of pod requests; CPU as processor sharing over
the vCPUs: a request on the CPU keeps its worker's pool of `cpu_threads` busy, and with other processes'
`background_threads` they share the cores fairly, so when busy threads outnumber cores each runs at cores/threads;
and the pool meets at a barrier `parallel_regions` times per request, where it waits for any of its threads that is
off its core, for about one scheduler slice (`sched_slice_ms`), with the chance that some other of its threads is
descheduled, 1 − (cores/busy) ** (pool − 1), the pool being `pool_threads` (torch's default: one per core), by
default the fewest threads that keep `cpu_threads` cores busy (a pool of two that keeps one core busy between its
serial parts, most ops below ATen's grain size, still meets as two); while they wait, the pool's other threads
spin, burning `cpu_oversubscription_penalty` of a core's time per ms of work with that same chance, growing with
the oversubscription up to every core contended (crowd 2) and no further: a thread spins only until its sibling is
back or libgomp's GOMP_SPINCOUNT runs out, and a wait once every core is contended outlasts the spin (measured
here, benchmarks/parallel_regions.py --contention: 4 pools of a family of torch models on 2 cores serve about what
2 do, and 2 pools beside 2 busy loops serve 1.1-1.5x what one does; a spin growing with the crowd would give
both less) (single-threaded workers neither wait nor spin). Waits and spin are why many all-core torch workers on few cores
serve less than one (PyTorch's multiprocessing notes: 4 hogwild processes each using every core ran 30x faster
once limited to cores/4 threads; Iancu et al., IPDPS 2010: the cost of oversubscription is set by how often threads
synchronise); how often a torch model's pool meets, measured here for a family of small models, is in
benchmarks/parallel_regions.py. A
request that keeps less than one thread busy (`cpu_threads` < 1: a handler that sleeps or waits on I/O for the rest)
gets what it wants up to its fair share (max-min fairness; CFS and EEVDF place a waking thread by its lag, so a
sleeper is not queued behind CPU hogs): measured here, the sleepy handler served 53.5 ms with a load average of 12.8
on 2 cores against 53.9 ms at 2.5. The node's
memory is the OS's `system_memory_mib` plus its pods' RSS, with the kernel's OOM killer taking the pod furthest above
its request when the node runs out; the serving image cached after the first pull. A worker loading its model keeps
`load_cpu_cores` busy for its `load_time_s` (Python imports and torch.load run on one thread; benchmarks/load_cpu.py
measured TorchServe loading encoder4 here: 1.7-2.1 CPU-s a load, its fair share of a crowded node throughout), as
other work beside the requests. Not modelled: CPU limits (CFS quota), NUMA, SMT, hugepages, disk, a load slowed by
a crowded node (its time is the profile's), the loading's CPU in the node's utilisation and load average readings,
the JVM's CPU beyond the pods' readings (~2 core-ms per request: it does not slow the workers).
"""
from __future__ import annotations

import math

import simpy

from twin.config.schema import ModelProfile, NodePool
from twin.gpu.device import DeviceUnit, accelerators, build_units
from twin.k8s.idle_spin import IdleSpin
from twin.kernel.ps import SharedProcessor

MIB = 1024 * 1024


TICK_MS = 4.0  # CONFIG_HZ=250, the kernel's default (kernel/Kconfig.hz) and this machine's (/proc/config.gz)


def default_slice_ms(vcpus: float) -> float:
    """How long a runnable thread waits for a core held by a spinning one: the scheduler's slice (CFS's minimum
    granularity, EEVDF's base slice: 0.75 ms scaled by 1 + log2 of the CPUs, counted up to 8), noticed as used up
    only at the next tick (no HRTICK by default, kernel/sched/features.h): on average half a tick past it."""
    return 0.75 * (1 + int(math.log2(max(1, min(int(vcpus), 8))))) + TICK_MS / 2


def cpu_sharing(vcpus: float, profile: ModelProfile, *, slice_ms: float, background: float = 0.0):
    """(speed_of, cores_of): per-job speed with n requests on the CPUs (1.0 = as on an idle node), and the cores the
    n requests' processes hold: the pool's threads, each at most its fair share, while they work (and spin); one
    thread at its fair share while the pool waits at a barrier for it (the others sleep in libgomp's futex)."""
    threads = profile.threads_on(vcpus)
    cpu_ms, penalty = profile.cpu_ms, profile.cpu_oversubscription_penalty
    barrier_ms = profile.parallel_regions * slice_ms if cpu_ms > 0.0 else 0.0
    on_core = min(1.0, threads)  # below one thread: the share of a core the request wants, sleeping the rest
    others = profile.pool_on(vcpus) - 1  # the pool's other threads, each a chance to wait at a barrier

    def phases(n: float) -> tuple[float, float, float, float]:
        """The crowd, the share stretch, and per ms of idle-node time the ms working and the ms waiting."""
        crowd = max(1.0, (n * threads + background) / vcpus)
        stalled = 1.0 - crowd ** -others  # some other thread of the pool is off its core
        share = wanted_share(on_core, crowd)
        wait = barrier_ms * stalled / cpu_ms if barrier_ms > 0.0 else 0.0
        return crowd, share, share * (1.0 + penalty * min(crowd - 1.0, 1.0) * stalled), wait

    def speed_of(n: int) -> float:
        _, _, work, wait = phases(n)
        return 1.0 / (work + wait)

    def cores_of(n: float) -> float:
        crowd, share, work, wait = phases(n)
        return n * (work * threads / share + wait / crowd) / (work + wait)

    return speed_of, cores_of


def cpu_speed(vcpus: float, profile: ModelProfile, *, slice_ms: float, background: float = 0.0):
    """Per-job speed with n requests on the CPUs (1.0 = as on an idle node)."""
    return cpu_sharing(vcpus, profile, slice_ms=slice_ms, background=background)[0]


def wanted_share(on_core: float, crowd: float) -> float:
    """How much longer a thread that wants `on_core` of a core takes when runnable threads are `crowd` times the
    cores: max-min fair sharing gives it what it wants up to its fair share 1/crowd (a thread that sleeps between
    short bursts wakes with the scheduler's credit for its sleep, so other work does not delay it)."""
    return max(1.0, on_core * crowd)


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
        self._accelerators = accelerators(self.units)  # the devices never change: found once, read every second
        self.threads = profile.threads_on(pool.vcpus)
        self.profile = profile
        self.loading = 0  # workers loading their model on the node now
        self.spin = IdleSpin(env, spinners=profile.pool_on(pool.vcpus) - 1, spin_ms=pool.pool_idle_spin_ms,
                             changed=self._reshape, crowd=self._crowd)
        self.cpu = SharedProcessor(env, *self._cpu_rules())

    def _cpu_rules(self):
        """The requests' speed and held cores beside the node's other work and its loading workers."""
        pool = self.pool
        return cpu_sharing(pool.vcpus, self.profile, slice_ms=pool.sched_slice_ms or default_slice_ms(pool.vcpus),
                           background=self._other_threads())

    def loading_changed(self, delta: int) -> None:
        """A worker began (+1) or ended (-1) loading its model: its CPU slows the requests on the node."""
        self.loading += delta
        if self.profile.load_cpu_cores > 0:
            self._reshape()

    def _reshape(self) -> None:
        self.cpu.reshape(*self._cpu_rules())

    def _crowd(self) -> float:
        """Runnable threads per core now: the requests' pools and the node's other work."""
        return (self.cpu.jobs * self.threads + self._other_threads()) / self.pool.vcpus

    def _other_threads(self) -> float:
        """Busy threads beside the requests': other processes, loading workers, spinning pools."""
        return self.pool.background_threads + self.loading * self.profile.load_cpu_cores + self.spin.threads

    @property
    def accelerators(self):
        return self._accelerators

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

    @property
    def memory_used_mib(self) -> float:
        """What `free` or htop shows as used: the OS and daemons plus every pod's RSS."""
        return self.pool.system_memory_mib + self.rss_mib

    def gpu_requested(self) -> float:
        return sum(self.requested(name) for name in self.allocatable if name.startswith("nvidia.com/"))
