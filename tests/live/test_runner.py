"""The live loop on a simulated wall clock: steps on their own periods, failures recorded and survived, a halt obeyed."""
from __future__ import annotations

from twin.core.control_plane import Periodic
from twin.live.failures import ApiFailure
from twin.live.gate import Gate, Halt
from twin.live.guardrails import Rails, Review
from twin.live.journal import Journal
from twin.live.runner import LiveLoop
from twin.ports import Decision


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-3)


def loop(tmp_path, steps, **kwargs) -> tuple[LiveLoop, Clock]:
    clock = Clock()
    gate = Gate("shadow", Review(Rails(namespaces=["n"], objects=["deployment/d"])), Journal(None),
                halt=Halt(tmp_path / "stop"), clock=clock, sleep=clock.sleep)
    return LiveLoop(steps, ports=None, gate=gate, clock=clock, sleep=clock.sleep, **kwargs), clock


def test_each_step_runs_on_its_own_period_from_the_start(tmp_path):
    calls: dict[str, list[float]] = {"fast": [], "slow": []}

    def step(name):
        return lambda now, ports: calls[name].append(now) or []

    runner, _ = loop(tmp_path, [Periodic("fast", 2.0, step("fast"), None), Periodic("slow", 5.0, step("slow"), None)])
    runner.run(duration_s=11.0)
    assert calls["fast"] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert calls["slow"] == [0.0, 5.0, 10.0]


def test_a_failing_step_is_recorded_and_the_others_go_on(tmp_path):
    made = []

    def broken(now, ports):
        raise ApiFailure("apiserver said 500", status=500, retryable=True)

    def working(now, ports):
        return [Decision(now, "workers", "scale_workers", "pod-a", {"min_worker": 2})]

    runner, _ = loop(tmp_path, [Periodic("hpa", 3.0, broken, None), Periodic("workers", 3.0, working, None)],
                     on_decision=made.append)
    runner.run(duration_s=7.0)
    assert [e.time_s for e in runner.errors] == [0.0, 3.0, 6.0]
    assert runner.errors[0].controller == "hpa" and "ApiFailure: apiserver said 500" in runner.errors[0].error
    assert len(made) == 3 and made == runner.decisions


def test_the_stop_file_ends_the_loop_at_the_next_tick(tmp_path):
    seen = []

    def step(now, ports):
        seen.append(now)
        if now >= 4.0:
            (tmp_path / "stop").touch()
        return []

    runner, clock = loop(tmp_path, [Periodic("workers", 2.0, step, None)])
    runner.run()
    assert seen == [0.0, 2.0, 4.0] and clock.now < 6.0
