"""Start-up: the base install runs every simulation command without the extras' modules, a missing extra is one
line naming it, `--help` loads none of the numerical stack, and `--version`, `python -m twin` and `dashboard` work.

The extras' modules are blocked in a subprocess by a meta-path finder (as if they were not installed): the commands
themselves run for real.
"""
from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import twin

ROOT = Path(__file__).resolve().parents[2]
EXTRAS_MODULES = ("kubernetes", "aiohttp", "streamlit", "torch")
BLOCKER = f"""
import importlib.abc, json, sys
BLOCKED = {EXTRAS_MODULES!r}
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, NotInstalled())
from twin.cli import main
codes = [main(argv) for argv in json.loads(sys.argv[1])]
print(json.dumps({{"codes": codes, "loaded": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)}}))
"""


def _without_extras(*commands: list[str], cwd: Path) -> tuple[dict, str]:
    done = subprocess.run([sys.executable, "-c", BLOCKER, json.dumps(commands)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def _calibration_runs(path: Path, ids: set[str]) -> Path:
    with open(ROOT / "calibration/data/runs.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [{**row, "duration_s": "20"} for row in reader if row["id"] in ids]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_every_simulation_command_runs_without_the_extras(tmp_path):
    default = ROOT / "scenarios/default.yaml"
    (tmp_path / "sweep.yaml").write_text(f"base: {default}\nduration_s: 15\ngrid: {{deployment.pods: [1, 2]}}\n")
    (tmp_path / "question.yaml").write_text(
        f"base: {default}\nduration_s: 15\nreplications: 1\nslo: {{latency_p95_ms: 500}}\n"
        "search: {deployment.pods: [1, 2]}\n")
    runs = _calibration_runs(tmp_path / "runs.csv", {"A10-ROB-GPU-1p1w-u1", "A10-ROB-GPU-1p1w-u10"})
    result, _ = _without_extras(
        ["run", "default", "--duration", "15"], ["validate", "questions/workers-vs-pods-2x4"],
        ["sweep", "sweep.yaml", "--out", "swept", "--workers", "1"],
        ["optimize", "question.yaml", "--out", "optimized", "--workers", "1"],
        ["predict", "--runs", str(runs), "--out", "predicted.csv", "--replications", "1"],
        ["calibrate", "--runs", str(runs), "--out", "profiles"],
        ["check", "--runs", str(runs), "--replications", "1", "--jobs", "1"], cwd=tmp_path)
    assert result == {"codes": [0] * 7, "loaded": []}
    assert (tmp_path / "swept/runs.csv").is_file() and (tmp_path / "optimized/pareto.csv").is_file()
    assert (tmp_path / "predicted.csv").is_file() and list((tmp_path / "profiles").glob("*.yaml"))


def test_a_missing_extra_is_one_line_naming_it(tmp_path):
    url = "http://127.0.0.1:9"
    result, stderr = _without_extras(["live", "settings.yaml"], ["replay", "d.jsonl", "--settings", "s.yaml"],
                                     ["observe", "--url", url, "--management-url", url, "--model", "x", "--out", "o"],
                                     ["dashboard"], cwd=tmp_path)
    live = "servetwin: error: this command needs the live extra: pip install 'servetwin[live]'"
    app = "servetwin: error: this command needs the app extra: pip install 'servetwin[app]'"
    assert result["codes"] == [2, 2, 2, 2]
    assert stderr.splitlines() == [live, live, live, app]
    assert not list(tmp_path.iterdir())  # nothing written on the way


def test_help_loads_none_of_the_numerical_stack():
    probe = ("import sys\nfrom twin.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = ('numpy', 'pandas', 'scipy', 'plotly', 'dask', 'pydantic', 'simpy', 'kubernetes')\n"
             "print(sorted(m for m in heavy if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "COMMAND" in done.stdout and "dashboard" in done.stdout and "import" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


def test_version_and_python_dash_m_twin():
    version = subprocess.run([sys.executable, "-m", "twin", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout == f"servetwin {twin.__version__}\n"
    summary = subprocess.run([sys.executable, "-m", "twin", "run", "default", "--duration", "15", "--json"],
                             capture_output=True, text=True, check=True)
    assert json.loads(summary.stdout)["simulated_s"] == 15


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_dashboard_starts_streamlit_on_the_app(tmp_path):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "twin", "dashboard", "--server.headless", "true",
                               "--server.port", str(port), "--server.address", "127.0.0.1"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    assert answer.read() == b"ok"
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert b"<title>Streamlit</title>" in page.read()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_reader_that_leaves_early_gets_no_traceback():
    command = subprocess.Popen([sys.executable, "-m", "twin", "run", "default", "--duration", "15"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    command.stdout.close()  # as `servetwin run ... | head -0` does
    stderr = command.stderr.read().decode()
    assert command.wait(timeout=120) == 1 and stderr == ""
