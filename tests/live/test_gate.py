"""The write gate and its guardrails: what is refused, clipped, skipped, retried and journaled, in which order."""
from __future__ import annotations

import json

import pytest

from twin.errors import InputError
from twin.live.failures import ApiFailure, from_status
from twin.live.gate import Gate, Halt, Retry
from twin.live.guardrails import Rails, Review, Write
from twin.live.journal import Journal

RAILS = dict(namespaces=["serving"], objects=["deployment/roberta"], min_replicas=1, max_replicas=6,
             max_replica_step=2, min_workers=1, max_workers=4, max_worker_step=1, min_interval_s=30,
             max_writes_per_minute=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Target:
    """A stand-in object on the far side of the gate: its state, and the sends it received."""

    def __init__(self, replicas: int = 2, failures: list[ApiFailure] | None = None) -> None:
        self.state = {"replicas": replicas}
        self.failures = list(failures or [])
        self.sent: list[dict] = []
        self.journal_at_send: list[str] = []

    def send(self, value) -> None:
        self.sent.append(dict(value))
        if self.failures:
            raise self.failures.pop(0)
        self.state.update(value)


def gate(tmp_path, mode="enact", **rails) -> tuple[Gate, Clock]:
    clock = Clock()
    return Gate(mode, Review(Rails(**{**RAILS, **rails})), Journal(tmp_path / "journal.jsonl"),
                halt=Halt(tmp_path / "stop"), retry=Retry(attempts=4, first_backoff_s=0.5, max_backoff_s=4),
                clock=clock, sleep=clock.sleep), clock


def scale(replicas: int, namespace: str = "serving", target: str = "deployment/roberta") -> Write:
    return Write("scale_deployment", namespace, target, {"replicas": replicas})


def journal_lines(tmp_path) -> list[dict]:
    path = tmp_path / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("write, reason", [
    (scale(3, namespace="default"), "namespace default is not in the allowlist"),
    (scale(3, target="deployment/other"), "deployment/other is not in the allowlist"),
    (Write("add_nodes", "serving", "deployment/roberta", {"count": 1}), "node actions are advice only"),
    (Write("evict_pod", "serving", "pod/roberta-7f9-x", {"evicted": 1}, owner="deployment/roberta"),
     "evictions are advice only"),
])
def test_writes_outside_the_allowlist_are_refused_and_never_sent(tmp_path, write, reason):
    the_gate, _ = gate(tmp_path)
    target = Target()
    outcome = the_gate.apply(write, current=lambda: target.state, send=target.send)
    assert outcome.status == "refused" and reason in outcome.detail
    assert target.sent == []
    assert [line["event"] for line in journal_lines(tmp_path)] == ["refused"]


def test_a_pod_of_an_allowed_deployment_is_allowed_and_workers_move_one_step_within_bounds(tmp_path):
    the_gate, _ = gate(tmp_path)
    workers = {"min_worker": 1, "max_worker": 1}
    write = Write("scale_workers", "serving", "pod/roberta-7f9-x", {"min_worker": 9, "max_worker": 9},
                  owner="deployment/roberta")
    outcome = the_gate.apply(write, current=lambda: workers, send=workers.update)
    assert outcome.status == "applied"
    assert workers == {"min_worker": 2, "max_worker": 2}  # max_worker_step 1 from 1, not the policy's 9
    intent = journal_lines(tmp_path)[0]
    assert intent["event"] == "intent" and "min_worker 9 -> 2 (bounds 1..4, step 1)" in intent["detail"]


@pytest.mark.parametrize("current, wanted, sent", [(2, 10, 4), (5, 0, 3), (6, 9, None), (1, 0, None)])
def test_replicas_are_clipped_to_bounds_and_step(tmp_path, current, wanted, sent):
    the_gate, _ = gate(tmp_path)
    target = Target(current)
    outcome = the_gate.apply(scale(wanted), current=lambda: target.state, send=target.send)
    if sent is None:  # already at the bound: nothing to send
        assert outcome.status == "unchanged" and target.sent == []
    else:
        assert outcome.status == "applied" and target.sent == [{"replicas": sent}]


def test_a_target_already_held_is_not_sent_again(tmp_path):
    the_gate, _ = gate(tmp_path)
    target = Target(3)
    assert the_gate.apply(scale(3), current=lambda: target.state, send=target.send).status == "unchanged"
    assert target.sent == []


def test_rate_limits_hold_back_writes_per_target_and_per_minute(tmp_path):
    the_gate, clock = gate(tmp_path, max_replicas=20, max_replica_step=20)
    target = Target(1)
    assert the_gate.apply(scale(2), current=lambda: target.state, send=target.send).status == "applied"
    clock.now += 10
    held = the_gate.apply(scale(3), current=lambda: target.state, send=target.send)
    assert held.status == "refused" and "written 10 s ago" in held.detail
    pods = [Write("scale_workers", "serving", f"pod/p{i}", {"min_worker": 2, "max_worker": 2},
                  owner="deployment/roberta") for i in range(3)]
    statuses = [the_gate.apply(w, current=lambda: {"min_worker": 1, "max_worker": 1}, send=lambda v: None).status
                for w in pods]
    assert statuses == ["applied", "applied", "refused"]  # 3 writes in a minute at most
    clock.now += 60
    assert the_gate.apply(scale(3), current=lambda: target.state, send=target.send).status == "applied"


def test_the_intent_is_journaled_before_the_write_is_sent(tmp_path):
    the_gate, _ = gate(tmp_path)
    target = Target(2)

    def send(value):
        target.journal_at_send.append(journal_lines(tmp_path)[-1]["event"])
        target.send(value)

    the_gate.apply(scale(3), current=lambda: target.state, send=send)
    assert target.journal_at_send == ["intent"]
    assert [(line["event"], line["key"]) for line in journal_lines(tmp_path)] == [
        ("intent", "deployment/roberta"), ("applied", "deployment/roberta")]


def test_retryable_failures_back_off_honouring_retry_after_then_apply(tmp_path):
    the_gate, clock = gate(tmp_path)
    target = Target(2, failures=[from_status("throttled", 429, retry_after_s=3.0), from_status("boom", 503)])
    outcome = the_gate.apply(scale(3), current=lambda: target.state, send=target.send)
    assert outcome.status == "applied" and outcome.detail == "attempt 3"
    assert clock.slept == [3.0, 1.0]  # Retry-After, then the doubled back-off
    assert target.state == {"replicas": 3} and len(target.sent) == 3


def test_failures_are_bounded_and_leave_a_failed_outcome(tmp_path):
    the_gate, clock = gate(tmp_path)
    target = Target(2, failures=[from_status("down", 500) for _ in range(10)])
    outcome = the_gate.apply(scale(3), current=lambda: target.state, send=target.send)
    assert outcome.status == "failed" and len(target.sent) == 4
    assert clock.slept == [0.5, 1.0, 2.0]
    assert target.state == {"replicas": 2}
    assert journal_lines(tmp_path)[-1]["event"] == "failed"


def test_a_client_error_is_not_retried(tmp_path):
    the_gate, _ = gate(tmp_path)
    target = Target(2, failures=[from_status("forbidden", 403)])
    assert the_gate.apply(scale(3), current=lambda: target.state, send=target.send).status == "failed"
    assert len(target.sent) == 1


def test_a_conflict_whose_target_another_writer_reached_counts_as_applied(tmp_path):
    the_gate, _ = gate(tmp_path)
    target = Target(2)

    def conflicting(value):
        target.state = {"replicas": 3}  # someone else got there first
        raise from_status("the object has been modified", 409)

    outcome = the_gate.apply(scale(3), current=lambda: target.state, send=conflicting)
    assert outcome.status == "applied" and "another writer" in outcome.detail


def test_dry_run_journals_and_sends_nothing_and_shadow_does_not_even_journal(tmp_path):
    dry, _ = gate(tmp_path, mode="dry-run")
    target = Target(2)
    assert dry.apply(scale(3), current=lambda: target.state, send=target.send).status == "dry-run"
    assert target.sent == [] and [line["event"] for line in journal_lines(tmp_path)] == ["dry-run"]
    shadow_dir = tmp_path / "shadow"
    shadow_dir.mkdir()
    shadow, _ = gate(shadow_dir, mode="shadow")
    assert shadow.apply(scale(3), current=lambda: target.state, send=target.send).status == "shadow"
    assert target.sent == [] and not (shadow_dir / "journal.jsonl").exists()
    assert [o.status for _, o in shadow.outcomes] == ["shadow"]


def test_a_stop_file_halts_every_write_at_once(tmp_path):
    the_gate, _ = gate(tmp_path)
    (tmp_path / "stop").touch()
    target = Target(2)
    assert the_gate.apply(scale(3), current=lambda: target.state, send=target.send).status == "halted"
    assert target.sent == []


def test_the_journal_survives_a_torn_last_line_but_not_a_corrupt_one(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.log("decision-0", "intent", value={"replicas": 3})
    journal.log("decision-0", "applied")
    journal.log("decision-1", "intent", value={"replicas": 4})
    journal.close()
    with path.open("a") as stream:
        stream.write('{"seq": 3, "key": "decision-2", "ev')  # the process died mid-line
    again = Journal(path)
    assert again.done() == {"decision-0"}
    assert [entry.key for entry in again.unsettled()] == ["decision-1"]
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "not json", *lines[1:]]) + "\n")
    with pytest.raises(InputError, match=r"journal.jsonl:2: expected a ServeTwin write journal"):
        Journal(path)


def test_shadow_outcomes_say_what_the_gate_would_have_done_never_that_it_wrote(tmp_path):
    shadow, clock = gate(tmp_path, mode="shadow", max_replica_step=1)
    target = Target(2)
    first = shadow.apply(scale(4), current=lambda: target.state, send=target.send)
    clock.now += 2
    second = shadow.apply(scale(3), current=lambda: target.state, send=target.send)
    assert (first.status, first.detail) == ("shadow", "would send: replicas 4 -> 3 (bounds 1..6, step 1)")
    assert second.status == "refused"
    assert second.detail == ("would be refused by the guardrails: deployment/roberta would have been written 2 s ago "
                             "(min_interval_s 30)")
    enacted, clock = gate(tmp_path / "enact" if (tmp_path / "enact").mkdir() is None else tmp_path, mode="enact")
    enacted.apply(scale(3), current=lambda: target.state, send=target.send)
    clock.now += 2
    assert "was written 2 s ago" in enacted.apply(scale(4), current=lambda: target.state, send=target.send).detail
