"""GPU memory as a hard capacity at worker start, and the container OOM-kill at a pod's memory limit."""
from __future__ import annotations

from tests.support.scenarios import scenario
from twin.core.world import World
from twin.torchserve.workers import BACK_OFF_S, MAX_RETRY_TIMEOUT_S

A10_4Q = {"name": "a10", "count": 1, "vcpus": 6, "memory_gib": 55, "image_cached": True,
          "gpus": {"model": "NVIDIA A10-4Q", "memory_gib": 4}}
GPU_MODEL = {"device": "gpu", "cpu_ms": 5, "gpu_ms": 10, "gpu_memory_mib": 1868, "gpu_memory_idle_mib": 1488,
             "load_time_s": 2, "demand_distribution": "deterministic", "worker_rss_mib": 100}


def events(world, kind):
    return [e for e in world.events if e["event"] == kind]


def test_a_worker_that_does_not_fit_fails_and_is_retried_with_fibonacci_back_off():
    spec = scenario(node_pools=[A10_4Q], model=GPU_MODEL, duration_s=60,
                    deployment={"initial_state": "cold", "torchserve": {"model": {"min_workers": 3}}},
                    workload={"type": "poisson", "rate_rps": 0})
    world = World(spec)
    world.run()
    ready = events(world, "worker_ready")
    failures = [e["time_s"] for e in events(world, "worker_gpu_oom")]
    assert len(ready) == 2  # 2 x 1488 MiB fit in 4096 MiB, a third does not
    first = ready[0]["time_s"]
    expected, t = [], first
    for attempt in range(1, 8):  # each attempt loads for 2 s, then waits BACK_OFF[attempt]
        expected.append(t)
        t += BACK_OFF_S[attempt] + 2
    assert failures[: len(expected)] == [round(x, 6) for x in expected if x <= 60]
    assert world.cluster.nodes[0].accelerators[0].used_mib == 2 * 1488


def test_retries_stop_after_the_max_retry_timeout():
    spec = scenario(node_pools=[A10_4Q], model=GPU_MODEL, duration_s=900,
                    deployment={"torchserve": {"model": {"min_workers": 3}}},
                    workload={"type": "poisson", "rate_rps": 0})
    world = World(spec)
    world.run()
    failures = [e["time_s"] for e in events(world, "worker_gpu_oom")]
    gave_up = events(world, "worker_gave_up")
    assert len(gave_up) == 1
    assert gave_up[0]["time_s"] - failures[0] >= MAX_RETRY_TIMEOUT_S
    assert failures[-2] - failures[0] < MAX_RETRY_TIMEOUT_S


def test_first_inference_grows_gpu_memory_and_a_full_gpu_answers_507():
    # Two workers fit idle (2 x 1488) but not both served (2 x 1868 = 3736 > 3500 MiB).
    pool = {**A10_4Q, "gpus": {"memory_gib": 3500 / 1024}}
    spec = scenario(node_pools=[pool], model=GPU_MODEL, duration_s=20,
                    deployment={"torchserve": {"model": {"min_workers": 2}}},
                    workload={"type": "closed", "users": 2})
    world = World(spec)
    world.run()
    assert world.recorder.errors["gpu_oom"] > 0
    assert world.cluster.nodes[0].accelerators[0].used_mib == 1868 + 1488


def _two_workers_under_6gi(duration_s: float):
    """A pod of two 2756 MiB workers and a 200 MiB frontend under a 6 GiB limit, 5 s into the run."""
    spec = scenario(duration_s=duration_s, model={"worker_rss_mib": 2756, "frontend_rss_mib": 200},
                    deployment={"resources": {"limits": {"memory": "6Gi"}},
                                "torchserve": {"model": {"min_workers": 2}}},
                    workload={"type": "closed", "users": 4})
    world = World(spec)
    world.run(until=5)
    return world, world.cluster.pods[0]


def test_scaling_workers_past_the_memory_limit_oom_kills_the_container_which_restarts():
    world, pod = _two_workers_under_6gi(duration_s=60)
    assert pod.rss_mib == 200 + 2 * 2756
    world.scale_workers(pod, 3)  # 200 + 3 x 2756 = 8468 MiB > 6144 MiB
    world.run(until=60)
    killed = events(world, "pod_oom_killed")
    assert [e["time_s"] for e in killed] == [5.0]
    restarted = [e["time_s"] for e in events(world, "container_started")]
    assert restarted == [15.0]  # CrashLoopBackOff: 10 s after the first kill
    assert world.recorder.errors["connection_reset"] >= 1  # requests in flight at the kill
    assert pod.restarts == 1 and pod.rss_mib == 200 + 2 * 2756  # back with the configured workers
    assert pod.ready


def test_with_a_limit_that_fits_scaling_up_is_fine():
    spec = scenario(duration_s=30, model={"worker_rss_mib": 2756, "frontend_rss_mib": 200},
                    deployment={"resources": {"limits": {"memory": "9Gi"}}})
    world = World(spec)
    world.run(until=5)
    world.scale_workers(world.cluster.pods[0], 3)
    world.run()
    assert not events(world, "pod_oom_killed")
    assert world.cluster.pods[0].server.workers.ready == 3


def test_memory_still_above_the_limit_while_the_container_stops_is_one_oom_kill():
    world, pod = _two_workers_under_6gi(duration_s=40)
    world.scale_workers(pod, 5)  # 200 + 5 x 2756 MiB: still 3 workers above 6 GiB after the first one stops
    world.run()
    assert [e["time_s"] for e in events(world, "pod_oom_killed")] == [5.0]
    assert [e["time_s"] for e in events(world, "container_started")] == [15.0]  # one back-off, not doubled
    assert pod.restarts == 1 and pod.last_oom == (0.0, 5.0)  # lastState.terminated: started, finished
