"""Cumulative resource integrals of the world at one instant; differences give utilisation over an interval."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Usage:
    time_s: float
    node_cpu: dict[str, float] = field(default_factory=dict)  # core-seconds in use
    node_jobs: dict[str, float] = field(default_factory=dict)  # runnable-thread-seconds (load average)
    gpu_busy: dict[str, float] = field(default_factory=dict)  # seconds a kernel ran (NVML utilisation)
    pod_cpu: dict[str, float] = field(default_factory=dict)  # core-seconds of request demand
    pod_gpu: dict[str, float] = field(default_factory=dict)
    pod_served: dict[str, int] = field(default_factory=dict)


def measure(world, *, pods: bool = True) -> Usage:
    """The integrals now; `pods=False` leaves out the per-pod ones (the per-second sampler needs only nodes')."""
    usage = Usage(world.env.now)
    for node in world.cluster.nodes:
        node.cpu.settle()
        usage.node_cpu[node.name] = node.cpu.work_area
        # runnable threads: every busy pool thread, other processes', and each accelerator phase's host thread
        jobs = node.cpu.jobs_area * node.threads + node.pool.background_threads * (world.env.now - node.created_at)
        for accelerator in node.accelerators:
            accelerator.compute.settle()
            usage.gpu_busy[accelerator.name] = accelerator.kernel_seconds
            jobs += accelerator.compute.jobs_area
        usage.node_jobs[node.name] = jobs
    if pods:
        for pod in world.cluster.pods:
            usage.pod_cpu[pod.name] = pod.usage.cpu_seconds
            usage.pod_gpu[pod.name] = pod.usage.gpu_seconds
            usage.pod_served[pod.name] = pod.served
    return usage

