"""Progress lines: on a terminal only, redrawn in place, ended with a newline; silent with --quiet or into a pipe."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from twin import progress

ROOT = Path(__file__).resolve().parents[2]


def _terminal() -> tuple[int, "os.PathLike"]:
    """A real pseudo-terminal: (reading end, writable stream that isatty)."""
    master, slave = pty.openpty()
    return master, os.fdopen(slave, "w")


def _drain(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_line_shows_count_time_taken_and_time_left():
    text = progress.line(4, 16, "folds", elapsed_s=65, note="1 failed")
    assert text.startswith("[" + "#" * 7 + " " * 23 + "] 4/16 folds  1 failed  1m05s")
    assert text.endswith("about 3m15s left")  # 65 s for a quarter: three quarters at the same pace
    assert "left" not in progress.line(16, 16, "folds", elapsed_s=65)


def test_durations_read_at_a_glance():
    assert [progress.duration(s) for s in (4.4, 65, 3600 + 180)] == ["4s", "1m05s", "1h03m"]


def test_drawn_on_a_terminal_and_ended_with_a_newline():
    master, stream = _terminal()
    with progress.Progress(3, "steps", stream=stream, after_s=0) as bar:
        for _ in range(3):
            bar.advance()
    stream.close()
    text = _drain(master)
    assert text.count("steps") == 3 and "3/3 steps" in text and text.endswith("\r\n")


def test_silent_when_quiet_or_before_a_moment_has_passed():
    master, stream = _terminal()
    with progress.Progress(3, "steps", stream=stream, quiet=True, after_s=0) as quiet:
        quiet.advance()
    with progress.Progress(3, "steps", stream=stream, after_s=60) as soon_done:
        soon_done.advance()
    stream.close()
    assert _drain(master) == ""


def _run(*flags: str, stderr) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin.cli", "run", str(ROOT / "scenarios/default.yaml"),
                           *flags], cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_run_draws_progress_on_a_terminal_only():
    master, stream = _terminal()
    shown = _run("--duration", "3000", stderr=stream)
    stream.close()
    drawn = _drain(master)
    assert shown.returncode == 0 and "s simulated" in drawn and "x real time" in drawn
    assert "s simulated" not in shown.stdout.decode().splitlines()[1]  # the answer on stdout stays clean
    piped = _run("--duration", "15", stderr=subprocess.PIPE)
    assert piped.returncode == 0 and b"s simulated" not in piped.stderr  # warnings may be there, never progress


def test_calibration_work_reports_its_progress(tmp_path):
    from calibration import cli as calibration_cli
    from calibration.check import leave_one_out
    from calibration.fit import fit
    from calibration.predict import predict_rows
    from calibration.profiles import BUNDLED, load_profiles
    from tests.cli.test_startup import _calibration_runs

    runs = _calibration_runs(tmp_path / "runs.csv", {"A10-ROB-GPU-1p1w-u1", "A10-ROB-GPU-1p1w-u10"})
    obs, readings = calibration_cli._inputs(runs, None)
    rounds, folds, rows = [], [], []
    full = fit(obs, readings, rounds=2, seeds=1, progress=lambda done, total: rounds.append((done, total)))
    leave_one_out(obs, readings, full=full, replications=1, rounds=1, seeds=1,
                  progress=lambda done, total: folds.append((done, total)))
    predict_rows([o.run.config for o in obs], load_profiles(BUNDLED), replications=1,
                 progress=lambda done, total: rows.append((done, total)))
    assert rounds[-1] == (2, 2) and len(rounds) <= 2  # a fit that converges early jumps to the end
    assert folds == [(1, 2), (2, 2)] and rows == [(1, 2), (2, 2)]
