"""The VPA inside the twin: recommender and updater loops through the ports, the admission controller on pod
creation, and the question VPA against worker-driven resize (scenarios/questions/vpa-vs-worker-resize-*.yaml)."""
from __future__ import annotations

from pathlib import Path

import pytest

from twin.config.loader import load_scenario
from twin.core.run import simulate
from twin.core.world import World

QUESTIONS = Path(__file__).resolve().parents[2] / "scenarios" / "questions"
GI = 2**30
MODE = "autoscaling.vpa.manifest.object.spec.updatePolicy.updateMode"
STEP_UP_S, STEP_DOWN_S = 300, 1500


def _run(name: str, **overrides):
    return simulate(load_scenario(QUESTIONS / f"vpa-vs-worker-resize-{name}.yaml", overrides))


@pytest.fixture(scope="module")
def in_place():
    return _run("vpa")


@pytest.fixture(scope="module")
def workers():
    return _run("workers")


def _vpa(result, action: str) -> list:
    return [d for d in result.decisions if d.controller == "vpa" and d.action == action]


def test_vpa_acts_only_after_memory_outgrows_the_request(in_place):
    resizes = _vpa(in_place, "resize_pod")
    first_oom = min(e["time_s"] for e in in_place.events if e["event"] == "pod_oom_killed")
    assert STEP_UP_S < first_oom < resizes[0].time_s  # workers grow past 4 GiB, the OOM shows, then the VPA acts
    assert resizes[0].time_s - first_oom <= 2 * 60 + 1  # the next recommender, then the next updater loop
    sizes = [d.value["memory_bytes"] for d in resizes]
    assert sizes == sorted(sizes) and sizes[0] > 4 * GI  # only ever up: peaks stay for the 24 h interval
    assert all(d.time_s < STEP_DOWN_S for d in resizes)  # nothing shrinks after the load falls


def test_one_pod_at_a_time_within_the_eviction_tolerance(in_place):
    times = [d.time_s for d in _vpa(in_place, "resize_pod")]
    assert len(times) == len(set(times))  # 2 replicas, tolerance int(2 x 0.5) = 1 per updater pass


def test_limits_follow_requests_and_the_workers_fit_at_the_end(in_place):
    for pod in in_place.summary.pods:
        assert pod["memory_limit_mib"] == pytest.approx(pod["memory_request_mib"])  # RequestsAndLimits, ratio 1
        assert pod["memory_limit_mib"] >= pod["host_memory_mib"]


def test_vpa_against_worker_driven_resize(in_place, workers):
    vpa, resize = in_place.summary.memory, workers.summary.memory
    assert resize["oom_kills"] == 0 and resize["last_short_at_s"] is None  # memory grows before each worker
    assert vpa["oom_kills"] > 0 and vpa["last_short_at_s"] > STEP_UP_S  # VPA learns from OOM kills
    assert vpa["wasted_gib_hours"] > 3 * resize["wasted_gib_hours"]  # and keeps the peak after the load falls
    assert in_place.summary.slo["violation_minutes"] > workers.summary.slo["violation_minutes"]


def test_recreate_evicts_and_the_replacements_are_admitted_with_the_recommendation():
    result = _run("vpa", **{MODE: "Recreate"})
    evicted = _vpa(result, "evict_pod")
    assert evicted and not _vpa(result, "resize_pod")
    created = [e for e in result.events if e["event"] == "pod_created" and e["time_s"] > 0]
    assert [round(e["time_s"], 3) for e in created] == [round(d.time_s, 3) for d in evicted]  # the ReplicaSet
    assert all(p["memory_request_mib"] > 4096 for p in result.summary.pods)


def test_off_and_initial_leave_running_pods_alone():
    for mode in ("Off", "Initial"):
        result = _run("vpa", **{MODE: mode, "duration_s": 700})
        assert not [d for d in result.decisions if d.controller == "vpa"]
        assert all(p["memory_request_mib"] == 4096 for p in result.summary.pods)


def test_initial_sizes_a_pod_created_later_and_off_does_not():
    sizes, targets = {}, {}
    for mode in ("Initial", "Off"):
        world = World(load_scenario(QUESTIONS / "vpa-vs-worker-resize-vpa.yaml", {MODE: mode}))
        world.run(until=700)
        bounds = world.control.steps["vpa"].bounds
        assert bounds is not None  # the recommender runs in every mode
        world.scale_deployment(3)
        sizes[mode], targets[mode] = world.cluster.pods[-1].requests["memory"], bounds.target["memory"]
    assert targets["Initial"] > 4 * GI
    assert sizes == {"Initial": targets["Initial"], "Off": 4 * GI}


def test_one_replica_is_below_the_updaters_min_replicas():
    result = _run("vpa", **{"deployment.pods": 1, "duration_s": 700})
    assert not _vpa(result, "resize_pod") and result.summary.memory["oom_kills"] > 0
    allowed = _run("vpa", **{"deployment.pods": 1, "duration_s": 700,
                             "autoscaling.vpa.manifest.object.spec.updatePolicy.minReplicas": 1})
    assert _vpa(allowed, "resize_pod")


def test_the_same_seed_gives_the_same_decisions(in_place):
    again = _run("vpa")
    assert [d.to_json() for d in again.decisions] == [d.to_json() for d in in_place.decisions]
