"""The bad-input contract, checked one way for every entry point: exit code 2, one line on stderr naming the file
(and the field where there is one), no traceback, and nothing in the folder touched.

`refused` runs the CLI in-process through `twin.cli.main` (fast); `refused_in_subprocess` runs `python -m twin.cli`,
so that the exit code and stderr are the real process's.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from twin.cli import main

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: bad-input
duration_s: 60
node_pools:
  - name: gpu
    vcpus: 8
    memory_gib: 32
    gpus: {count: 1, memory_gib: 80}
deployment:
  name: roberta
  pods: 1
model:
  cpu_ms: 5
  gpu_ms: 10
workload:
  type: closed
  users: 2
  think_time_s: 0.1
"""

KEDA = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: roberta}
spec:
  scaleTargetRef: {name: roberta}
  pollingInterval: 15
  minReplicaCount: 1
  maxReplicaCount: 4
  triggers:
    - type: prometheus
      metadata:
        serverAddress: http://prometheus:9090
        query: sum(rate(ts_inference_requests_total[1m]))
        threshold: "20"
"""

HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: roberta}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: roberta}
  minReplicas: 1
  maxReplicas: 4
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
"""

SETTINGS = """\
scenario: scenario.yaml
cluster: {namespace: serving, deployment: roberta}
torchserve: {model: roberta}
prometheus: {url: http://127.0.0.1:9090}
guardrails: {namespaces: [serving], objects: [deployment/roberta]}
"""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under `folder`: size, modification time and content hash (folders: their listing)."""
    state = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            state[key] = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            state[key] = (0, 0, "dir" if path.is_dir() else "other")
    return state


def refused(folder: Path, argv: list[str], capsys, *, names: tuple[str, ...] = ()) -> str:
    """Run `servetwin ARGV` in `folder`; the one line it printed, after checking the contract."""
    before = snapshot(folder)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        code = main(argv)
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    return _checked(code, captured.out, captured.err, before, folder, names)


def refused_in_subprocess(folder: Path, argv: list[str], *, names: tuple[str, ...] = ()) -> str:
    before = snapshot(folder)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "twin.cli", *argv], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)
    return _checked(done.returncode, done.stdout, done.stderr, before, folder, names)


def _checked(code: int, out: str, err: str, before: dict, folder: Path, names: tuple[str, ...]) -> str:
    lines = err.strip().splitlines()
    assert code == 2, f"exit {code}, stderr {err!r}"
    assert "Traceback" not in err + out, err
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    for name in names:
        assert name in lines[0], f"{name!r} not named in {lines[0]!r}"
    assert snapshot(folder) == before, "the command touched the folder"
    return lines[0]
