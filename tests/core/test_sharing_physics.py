"""GPU sharing as the device does it, CPU as torch's thread pools use it, memory as htop shows it."""
from __future__ import annotations

import pytest
import simpy

from tests.support.scenarios import scenario
from twin.config.schema import GpuSpec, ModelConfig, ModelProfile, NodePool
from twin.core.run import simulate
from twin.gpu.device import Accelerator, sharing_of
from twin.gpu.sharing import Sharing, device_model
from twin.k8s.node import Node, cpu_sharing, cpu_speed, default_slice_ms
from twin.kernel.timer import call_later
from twin.torchserve.workers import Workers

ROBERTA_LIKE = {"device": "gpu", "cpu_ms": 0.0, "gpu_ms": 10.0, "demand_distribution": "deterministic"}


def finish_times(sharing: Sharing, jobs: int, demand_s: float = 1.0) -> tuple[list[float], float]:
    """Start `jobs` accelerator phases at t=0; when each ends, and the kernel-seconds NVML would integrate."""
    env = simpy.Environment()
    accelerator = Accelerator(env, name="gpu", memory_mib=1.0, sharing=sharing)
    done: list[float] = []
    for _ in range(jobs):
        accelerator.compute.start(demand_s, lambda _: done.append(env.now), None)
    env.run()
    accelerator.compute.settle()
    return done, accelerator.kernel_seconds


def test_launch_time_overlaps_other_processes_kernels_until_the_device_is_full():
    sliced = Sharing(mode="time-slicing", timeslice_efficiency=0.9, mps_capacity=3, kernel_share=0.25)
    two, _ = finish_times(sliced, 2)
    assert two == pytest.approx([1.0, 1.0])  # 2 x 0.25 of kernels fit in 0.9 of the device: nobody waits
    eight, kernels = finish_times(sliced, 8)
    # 8 x 0.25 = 2 device-seconds of kernels at 0.9 of the device: everyone ends at 2 / 0.9
    assert eight == pytest.approx([2 / 0.9] * 8)
    assert kernels == pytest.approx(2.0)  # NVML sees a kernel running 90 % of that time
    whole, _ = finish_times(Sharing("time-slicing", 0.9, 3, kernel_share=1.0), 2)
    assert whole == pytest.approx([2 / 0.9] * 2)  # all-kernel work: two contexts alternate


def test_mps_runs_kernels_of_several_clients_side_by_side():
    common = {"timeslice_efficiency": 0.9, "mps_capacity": 3.0, "kernel_share": 1.0}
    sliced, _ = finish_times(Sharing(mode="time-slicing", **common), 3)
    mps, _ = finish_times(Sharing(mode="mps", **common), 3)
    assert mps == pytest.approx([1.0] * 3) and sliced == pytest.approx([3 / 0.9] * 3)
    six, _ = finish_times(Sharing(mode="mps", **common), 6)
    assert six == pytest.approx([2.0] * 6)  # beyond 3 clients the SMs are full


def test_a_mig_slice_slows_kernels_not_host_launches():
    on_slice = Sharing("time-slicing", 0.95, 3.0, kernel_share=0.5, slice_speed=1 / 7)
    done, _ = finish_times(on_slice, 1)
    assert done == pytest.approx([0.5 + 0.5 * 7])


def test_sharing_parameters_belong_to_the_device_and_a_pool_may_override_them():
    assert device_model("NVIDIA A100 80GB PCIe").timeslice_efficiency == 0.95
    assert device_model("NVIDIA A10 (vGPU profile A10-4Q)").family == "vGPU"
    plain = ModelProfile(cpu_ms=1, gpu_ms=10)
    assert sharing_of(GpuSpec(model="NVIDIA A10-4Q"), plain).timeslice_efficiency == 0.85
    assert sharing_of(GpuSpec(timeslice_efficiency=0.5), plain.model_copy(update={"timeslice_efficiency": 0.7})
                      ).timeslice_efficiency == 0.5
    assert sharing_of(GpuSpec(), plain.model_copy(update={"timeslice_efficiency": 0.7})).timeslice_efficiency == 0.7


def throughput(vcpus: float, profile: ModelProfile, busy_workers: int, background: float = 0.0) -> float:
    """Requests per second of `busy_workers` always on the CPU (no other phase)."""
    speed = cpu_speed(vcpus, profile, slice_ms=default_slice_ms(vcpus), background=background)
    return busy_workers * speed(busy_workers) / (profile.cpu_ms / 1000)


def test_a_second_all_core_pool_collapses_throughput_and_more_pools_lose_little_more():
    # measured here: a real TorchServe serving encoder4 (7 ms a request on both cores, 52 barriers) with torch's
    # default pools served 138 req/s from one busy worker, 13.6 from two and 19 from four
    encoder = ModelProfile(device="cpu", cpu_ms=7, cpu_threads="cores", parallel_regions=52,
                           cpu_oversubscription_penalty=1)
    one, two, four = (throughput(2, encoder, n) for n in (1, 2, 4))
    assert two < one / 4 and four < one / 4  # the time is lost inside the workers
    assert 0.5 < four / two < 2  # past every core contended, another pool costs little more


def test_spin_grows_with_the_crowd_until_every_core_is_contended_and_no_further():
    spinning = ModelProfile(device="cpu", cpu_ms=10, cpu_threads="cores", cpu_oversubscription_penalty=5)
    speed = cpu_speed(2, spinning, slice_ms=3.5)
    stalled = {crowd: 1 - crowd ** -1.0 for crowd in (1.5, 4)}  # the pool's other thread is off its core
    assert speed(1) == 1.0
    assert cpu_speed(2, spinning, slice_ms=3.5, background=1)(1) == pytest.approx(
        1 / (1.5 * (1 + 5 * 0.5 * stalled[1.5])))
    assert speed(4) == pytest.approx(1 / (4 * (1 + 5 * 1.0 * stalled[4])))  # crowd 4 spins as crowd 2 would


def test_beside_busy_loops_a_second_pool_serves_more_and_single_threads_scale():
    # measured here (benchmarks/parallel_regions.py --contention --hogs 2): two pools of torch's default threads
    # beside two busy loops on two cores served 1.1-1.5x what one pool did; spin that grew with the crowd would
    # make the second pool cost more than it brings
    pooled = ModelProfile(device="cpu", cpu_ms=12, cpu_threads="cores", parallel_regions=60,
                          cpu_oversubscription_penalty=5)
    one, two = (throughput(2, pooled, n, background=2) for n in (1, 2))
    assert one <= two < 1.5 * one
    single = pooled.model_copy(update={"cpu_threads": 1.0, "cpu_ms": 23})
    assert throughput(2, single, 2, background=2) > 1.3 * throughput(2, single, 1, background=2)
    assert throughput(2, single, 1, background=2) > 2 * one  # OMP_NUM_THREADS=1 serves several times more


def test_the_scheduler_slice_and_tick_set_the_barrier_wait():
    assert [default_slice_ms(v) for v in (1, 2, 6, 24)] == [2.75, 3.5, 4.25, 5.0]
    barrier = ModelProfile(device="cpu", cpu_ms=10, cpu_threads=2, parallel_regions=4)
    speed = cpu_speed(2, barrier, slice_ms=1.5)
    assert speed(1) == 1.0  # 2 threads on 2 cores: nobody waits
    crowd = 2.0  # 4 threads on 2 cores: each runs half the time, and half the barriers wait a slice
    assert speed(2) == pytest.approx(10 / (10 * crowd + 4 * 1.5 * (1 - 1 / crowd)))


def test_a_request_that_mostly_waits_gets_what_it_wants_up_to_its_fair_share():
    # a handler that sleeps 50 ms and computes for 5 (a tenth of a core) beside other work filling both cores
    waiting = ModelProfile(device="cpu", cpu_ms=50, cpu_threads=0.1, parallel_regions=40,
                           cpu_oversubscription_penalty=5)
    assert cpu_speed(2, waiting, slice_ms=1.5, background=4)(2) == 1.0  # its fair share is 2/4.2 of a core
    crowded = cpu_speed(2, waiting, slice_ms=1.5, background=38)  # a share of 1/19: it wants 0.1
    assert crowded(1) == pytest.approx(1 / (0.1 * (0.1 + 38) / 2))
    held = [cpu_sharing(2, waiting, slice_ms=1.5, background=other)[1] for other in (4, 38)]
    assert held[0](1) == pytest.approx(0.1)  # its work, at any crowd: the reading is 5 core-ms a request
    assert held[1](1) * 50 / crowded(1) == pytest.approx(5.0)


def test_a_pool_waiting_at_its_barriers_holds_one_thread_s_share_not_its_all():
    # two threads beside two other busy ones on two cores: half the time some thread of the pool is off its core
    pool = ModelProfile(device="cpu", cpu_ms=10, cpu_threads=2, parallel_regions=4)
    speed, held = cpu_sharing(2, pool, slice_ms=1.5, background=2)
    crowd, work, wait = 2.0, 2.0, 4 * 1.5 * 0.5 / 10  # ms per idle-node ms: working at half speed, and waiting
    assert speed(1) == pytest.approx(1 / (work + wait))
    assert held(1) == pytest.approx((work * 2 / crowd + wait / crowd) / (work + wait))  # below its fair share of 1


def test_a_pool_meets_as_all_its_threads_though_it_keeps_fewer_cores_busy():
    # torch's default pool of two on two cores, one core busy on average (most ops run on one thread)
    busy_one = ModelProfile(device="cpu", cpu_ms=10, cpu_threads=1.0, parallel_regions=50)
    pooled = busy_one.model_copy(update={"pool_threads": "cores"})
    assert (busy_one.pool_on(2), pooled.pool_on(2), pooled.pool_on(8)) == (1, 2, 8)
    alone, beside = (cpu_speed(2, p, slice_ms=3.5, background=2) for p in (busy_one, pooled))
    assert alone(2) == pytest.approx(1 / 2)  # one thread among four on two cores: crowding only
    crowd = 2.0
    assert beside(2) == pytest.approx(10 / (10 * crowd + 50 * 3.5 * (1 - 1 / crowd)))  # and a wait at each barrier


def test_a_worker_loading_its_model_slows_the_requests_on_its_node_until_it_is_ready():
    env = simpy.Environment()
    profile = ModelProfile(device="cpu", cpu_ms=10, cpu_threads=2.0, load_cpu_cores=1.0)
    node = Node(env, name="n", pool=NodePool(name="p", vcpus=2, memory_gib=8), profile=profile)
    finished = []
    node.cpu.start(1.0, lambda _: finished.append(env.now), None)  # a second of idle-node work
    node.loading_changed(1)
    call_later(env, 0.5, lambda _: node.loading_changed(-1))
    env.run()
    beside_load = cpu_speed(2, profile, slice_ms=default_slice_ms(2), background=1.0)(1)
    assert beside_load < 0.7  # one loading thread beside a two-core pool: three threads on two cores
    assert finished == [pytest.approx(0.5 + (1.0 - 0.5 * beside_load))]


def test_a_worker_is_loading_from_its_spawn_until_ready_or_stopped():
    env = simpy.Environment()
    loading = []
    workers = Workers(env, profile=ModelProfile(device="cpu", cpu_ms=10, load_time_s=2.0), config=ModelConfig(),
                      accelerators=[], rss_changed=lambda _: None, log=lambda *a, **k: None,
                      became_ready=lambda _: None, lost=lambda *_: None, loading=loading.append)
    workers.scale(2)
    env.run(until=1.0)
    workers.stop(workers.all[-1], reason="scaled_down")  # one stopped while it loads
    env.run(until=3.0)
    assert loading == [1, 1, -1, -1] and workers.ready == 1


def test_the_node_reports_memory_as_htop_does():
    pool = {"name": "n", "vcpus": 4, "memory_gib": 8, "image_cached": True, "system_memory_mib": 1000}
    spec = scenario(node_pools=[pool], deployment={"pods": 2}, duration_s=5,
                    model={"device": "cpu", "cpu_ms": 5, "worker_rss_mib": 300, "frontend_rss_mib": 200},
                    workload={"type": "poisson", "rate_rps": 0})
    assert simulate(spec).summary.memory_used_mib == pytest.approx(1000 + 2 * (300 + 200))
    assert NodePool(name="x", vcpus=1, memory_gib=1).system_memory_mib == 0.0


def test_a_device_without_runs_gets_its_kernel_time_from_vendor_specs():
    from twin.gpu.sharing import kernel_time_ratio

    a100 = "NVIDIA A100 80GB PCIe"
    bare, sd_bare = kernel_time_ratio("NVIDIA A10", a100)
    vgpu, sd_vgpu = kernel_time_ratio("NVIDIA A10 (vGPU profile A10-4Q)", a100)
    faster, _ = kernel_time_ratio("NVIDIA H100 PCIe", a100)
    assert 1.0 < bare < 1935 / 600  # between latency-bound and bandwidth-bound
    assert vgpu > bare and sd_vgpu > sd_bare  # a sixth of a board: slower, and less certain (scheduler unknown)
    assert faster < 1.0
    assert kernel_time_ratio(a100, a100)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no specs"):
        kernel_time_ratio("Some Future GPU", a100)
