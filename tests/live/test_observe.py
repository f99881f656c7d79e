"""`servetwin observe` against a real TorchServe: steps, calibration rows, snapshots, TorchServe's own view, errors."""

import argparse
import json
import os
import socket
from pathlib import Path

import pytest

from calibration.readers.jtl import read_jtl
from calibration.readers.runs import read_runs
from calibration.readers.torchserve_describe import read_describe
from calibration.readers.torchserve_metrics import read_metrics
from tests.support.torchserve import SLEEPY, RealTorchServe
from twin.errors import InputError
from twin.live import observe_cli
from twin.live.observe import NodeDescription, ObserveConfig, ObserveError, observe

SERVICE_S = 0.050  # the fixture's sleepy model
STEP_S = 2.0
NODE = NodeDescription(cloud_vm="loopback", node_vcpus=2, node_ram_gb=8.0, device="cpu", pods=1)


def _config(server: RealTorchServe, out: Path, **overrides) -> ObserveConfig:
    settings = dict(inference_url=server.urls.inference, management_url=server.urls.management,
                    metrics_url=server.urls.metrics, model=SLEEPY, out_dir=out, users=(1, 2), duration_s=STEP_S,
                    pause_s=0.0, node=NODE)
    return ObserveConfig(**{**settings, **overrides})


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once the socket closes


def _leftovers(parent: Path) -> list[Path]:
    return list(parent.glob(".servetwin-observe-*"))


@pytest.fixture(scope="module")
def observed(torchserve: RealTorchServe, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("observe") / "run"
    heard = []
    result = observe(_config(torchserve, out, workers=(1, 2)), lambda *told: heard.append(told))
    assert [(done, total, step.id) for done, total, step in heard] == [
        (i + 1, 4, step.id) for i, step in enumerate(result.steps)]  # progress after each step, in order
    return result, {run.config.id: run for run in read_runs(out / "runs.csv")}


def test_every_step_is_a_calibration_run(observed) -> None:
    result, runs = observed
    assert list(runs) == ["OBS-sleepy-w1-u1", "OBS-sleepy-w1-u2", "OBS-sleepy-w2-u1", "OBS-sleepy-w2-u2"]
    for step in result.steps:
        config = runs[step.id].config
        assert (config.workers_per_pod, config.users, config.model) == (step.workers, step.users, SLEEPY)
        assert (config.batch_size, config.max_batch_delay_ms) == (1, 100)  # the sleepy model's archive settings
        assert (config.cloud_vm, config.node_vcpus, config.device, config.pods) == ("loopback", 2, "cpu", 1)
        assert config.duration_s == STEP_S
        assert runs[step.id].result.error_pct == 0.0
        assert runs[step.id].result.throughput_rps == pytest.approx(step.load.throughput_rps, abs=1e-3)


def test_the_machine_beside_every_step_is_recorded(observed) -> None:
    """Load average and CPU of the host, the server's processes and the load generator: a busy neighbour shows."""
    result, runs = observed
    for step in result.steps:
        measured = runs[step.id].result
        assert measured.host_load_1m >= 0
        assert 0 < measured.client_cpu_pct and 0 < measured.server_cpu_pct
        # separate processes, each sampled over the step: the parts cannot exceed the whole by more than jitter
        assert measured.server_cpu_pct + measured.client_cpu_pct <= measured.host_cpu_pct + 15
        assert measured.host_cpu_pct <= 100 * (os.cpu_count() or 1) + 15
        # a handler that sleeps spends little CPU per request: well under its 50 ms of service
        assert measured.server_cpu_pct / 100 / measured.throughput_rps < 0.5 * SERVICE_S


def test_throughput_follows_workers_not_users(observed) -> None:
    _, runs = observed
    rps = {run_id: run.result.throughput_rps for run_id, run in runs.items()}
    ms = {run_id: run.result.avg_response_ms for run_id, run in runs.items()}
    ceiling = 1 / SERVICE_S
    assert 0.4 * ceiling < rps["OBS-sleepy-w1-u1"] <= 1.05 * ceiling
    assert rps["OBS-sleepy-w1-u2"] <= 1.05 * ceiling  # one worker is saturated: a second user only queues
    assert ms["OBS-sleepy-w1-u2"] > 1.5 * ms["OBS-sleepy-w1-u1"]
    assert rps["OBS-sleepy-w2-u2"] > 1.4 * rps["OBS-sleepy-w1-u2"]
    assert rps["OBS-sleepy-w2-u2"] <= 2.1 * ceiling


def test_snapshots_and_jtl_are_written_per_step(observed) -> None:
    result, _ = observed
    for step in result.steps:
        for moment in ("before", "after"):
            (model,) = read_describe(result.out_dir / "describe" / f"{step.id}.{moment}.json")
            assert len(model.workers) == step.workers
            read_metrics(result.out_dir / "metrics" / f"{step.id}.{moment}.txt")  # parses
        after = read_metrics(result.out_dir / "metrics" / f"{step.id}.after.txt")
        assert after.select("ts_inference_requests_total", model_name=SLEEPY)
        samples = read_jtl(result.out_dir / "jtl" / f"{step.id}.jtl")
        assert len(samples) == step.load.count
        assert {sample.thread_name for sample in samples} == {f"{step.id}-{i + 1}" for i in range(step.users)}
    assert not _leftovers(result.out_dir.parent)


def test_torchserve_counters_agree_with_the_load_generator(observed) -> None:
    result, runs = observed
    for step in result.steps:
        assert step.ts_requests == pytest.approx(step.load.count, abs=step.users)
        assert 0.7 * step.load.mean_ms < step.ts_mean_latency_ms <= 1.05 * step.load.mean_ms + 1.0
        recorded = runs[step.id].result  # in runs.csv too, for calibrate: the time in the worker is their difference
        assert (recorded.ts_mean_latency_ms, recorded.ts_mean_queue_ms) == pytest.approx(
            (step.ts_mean_latency_ms, step.ts_mean_queue_ms), abs=1e-3)
    queue = {step.id: step.ts_mean_queue_ms for step in result.steps}
    # with one worker the second user waits about one service time; with two, nobody waits
    assert queue["OBS-sleepy-w1-u2"] > queue["OBS-sleepy-w1-u1"] + 0.4 * SERVICE_S * 1000
    assert queue["OBS-sleepy-w2-u2"] < 0.4 * SERVICE_S * 1000


def test_original_workers_are_restored(observed, torchserve: RealTorchServe) -> None:
    (model,) = torchserve.describe(SLEEPY)
    assert (model["minWorkers"], model["maxWorkers"], len(model["workers"])) == (1, 1, 1)


def test_unreachable_server_or_unknown_model_is_an_input_error(torchserve: RealTorchServe, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no answer"):
        observe(_config(torchserve, tmp_path / "a", management_url=_closed_port()))
    with pytest.raises(InputError, match="no answer"):
        observe(_config(torchserve, tmp_path / "b", inference_url=_closed_port()))
    with pytest.raises(InputError, match="404"):
        observe(_config(torchserve, tmp_path / "c", model="no_such_model"))
    assert list(tmp_path.iterdir()) == []


def test_a_failed_step_leaves_no_output(torchserve: RealTorchServe, tmp_path: Path) -> None:
    out = tmp_path / "run"
    try:
        with pytest.raises(ObserveError, match="not READY"):  # a second worker cannot start in 50 ms
            observe(_config(torchserve, out, users=(1,), duration_s=0.5, workers=(1, 2), scale_timeout_s=0.05))
    finally:
        torchserve.scale(SLEEPY, 1)
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_output_directory_is_refused(torchserve: RealTorchServe, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match=r"servetwin did not write \(keep.txt\)"):
        observe(_config(torchserve, tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="servetwin")
    observe_cli.add_command(parser.add_subparsers(required=True))
    return parser.parse_args(argv)


def test_cli_with_a_token_file_against_token_authorization(tmp_path: Path, capsys) -> None:
    with RealTorchServe(workdir=tmp_path / "ts", models=(SLEEPY,), token_auth=True) as server:
        base = ["observe", "--url", server.urls.inference, "--management-url", server.urls.management,
                "--model", SLEEPY, "--users", "1", "--duration", "1", "--pause", "0", "--device", "cpu"]
        args = _parse([*base, "--token", "wrong", "--out", str(tmp_path / "bad")])
        with pytest.raises(InputError, match="token"):
            args.command(args)
        args = _parse([*base, "--token-file", str(tmp_path / "ts" / "key_file.json"), "--metrics-url",
                       server.urls.metrics, "--out", str(tmp_path / "good")])
        assert args.command(args) == 0
    (run,) = read_runs(tmp_path / "good" / "runs.csv")
    assert (run.config.id, run.config.device, run.result.error_pct) == ("OBS-sleepy-w1-u1", "cpu", 0.0)
    assert run.result.throughput_rps > 0.4 / SERVICE_S
    assert "OBS-sleepy-w1-u1" in capsys.readouterr().out
    assert not (tmp_path / "bad").exists()


def test_cli_rejects_bad_flags(tmp_path: Path) -> None:
    base = ["observe", "--url", "http://127.0.0.1:1", "--management-url", "http://127.0.0.1:1", "--model", "m",
            "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit):
        _parse([*base, "--users", "1,x"])
    args = _parse([*base, "--users", "2,2"])
    with pytest.raises(InputError, match="users"):
        args.command(args)
    (tmp_path / "keys.json").write_text(json.dumps({"inference": {}}))
    args = _parse([*base, "--token-file", str(tmp_path / "keys.json")])
    with pytest.raises(InputError, match="key_file.json"):
        args.command(args)
