"""Ctrl-C, sent to real `servetwin` processes: one line, exit 130, no traceback, nothing half-written left behind;
`run` still prints the summary of what it simulated, and a sweep resumes where it stopped."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from tests.support.scenarios import TINY_YAML as TINY
from twin.config.loader import load_scenario
from twin.core.run import simulate
from twin.core.stop import Stop

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 120  # a busy two-core machine imports pandas slowly


class Servetwin:
    """`python -m twin.cli ...` in its own process group (as a terminal runs it), its stderr collected as it comes."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen([sys.executable, "-m", "twin.cli", *args], cwd=cwd, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := self.process.stderr.read1(4096):
            self.err += chunk

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not condition():
            assert self.process.poll() is None, f"ended before {what}: {self.err.decode()}"
            assert time.monotonic() < deadline, f"no {what} within {WAIT_S} s"
            time.sleep(0.1)

    def ctrl_c(self) -> tuple[int, str, str]:
        """SIGINT to the whole group, as a terminal's Ctrl-C sends it; (exit code, stdout, stderr)."""
        os.killpg(self.process.pid, signal.SIGINT)
        out = self.process.stdout.read().decode()
        code = self.process.wait(timeout=WAIT_S)
        self._reader.join(timeout=10)
        return code, out, self.err.decode()

    def group_gone(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False


def last_line(err: str) -> str:
    assert "Traceback" not in err, err
    return err.strip().splitlines()[-1].split("\r")[-1]


def test_ctrl_c_ends_a_run_with_the_summary_so_far_and_writes_no_folder(tmp_path):
    (tmp_path / "long.yaml").write_text(TINY.replace("duration_s: 4", "duration_s: 20000000"))
    run = Servetwin("run", "long.yaml", "--json", "--out", "result", cwd=tmp_path)
    started = time.monotonic()  # no progress bar to wait for: stderr is a pipe, where none is drawn
    run.wait_for(lambda: time.monotonic() - started > 5, "five seconds of simulating")
    code, out, err = run.ctrl_c()
    assert code == 130
    assert "interrupted at" in last_line(err) and "no output written" in last_line(err)
    summary = json.loads(out)
    assert 0 < summary["simulated_s"] < 200000 and summary["requests"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml"]  # no result, no staging folder


def test_ctrl_c_ends_a_parallel_sweep_at_once_and_it_resumes_later(tmp_path):
    # one quick run to wait for, then five of a second or more each: the Ctrl-C lands mid-sweep on a busy machine and
    # a fast twin alike (with six short runs the sweep could end between the first file and the signal)
    (tmp_path / "base.yaml").write_text(TINY.replace("duration_s: 4", "duration_s: 4000"))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"base": "base.yaml",
                                                         "grid": {"workload.0.rate_rps": [1, 40, 41, 42, 43, 44]}}))
    args = ("sweep", "sweep.yaml", "--workers", "2", "--quiet", "--out", "out")
    sweep = Servetwin(*args, cwd=tmp_path)
    runs = tmp_path / "out" / "runs"
    sweep.wait_for(lambda: runs.is_dir() and any(runs.glob("*.json")), "first finished run")
    code, _, err = sweep.ctrl_c()
    assert code == 130 and "interrupted" in last_line(err)
    assert sweep.group_gone()  # no worker left running its run
    kept = sorted(runs.iterdir())
    assert kept and all(p.suffix == ".json" and json.loads(p.read_text())["status"] == "ok" for p in kept)
    assert len(kept) < 6 and not (tmp_path / "out" / "runs.csv").exists()
    done = subprocess.run([sys.executable, "-m", "twin.cli", *args], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    assert len(list(runs.glob("*.json"))) == 6
    assert all((tmp_path / "out" / "runs" / p.name).read_bytes() == p.read_bytes() for p in kept)


def test_a_stop_ends_the_simulation_between_events_with_its_state_summarised(tmp_path):
    (tmp_path / "long.yaml").write_text(TINY.replace("duration_s: 4", "duration_s: 2000"))
    stop = Stop()
    asked_at = []

    def progress(now: float) -> None:
        if now >= 500 and not asked_at:
            asked_at.append(now)
            stop.request()

    result = simulate(load_scenario(tmp_path / "long.yaml"), progress=progress, stop=stop)
    assert not result.complete
    assert result.summary.simulated_s == asked_at[0]  # the stop event is the next one at that instant
    assert len(result.timeseries) == int(asked_at[0]) and result.summary.requests > 0
