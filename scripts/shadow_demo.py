"""`make shadow-demo`: shadow mode without a cluster, on loopback, then the dashboard's Shadow tab on its report.

    python -m scripts.shadow_demo [--duration 60] [--out servetwin-shadow-demo] [--serve | --no-serve]

Starts what the live end-to-end tests start (tests/support): a real TorchServe serving the suite's `sleepy`
model (built locally: a handler that sleeps 50 ms), Debian's Prometheus scraping it every second as pod `sleepy-0`, and
KMock as the Kubernetes API holding the Deployment, its pod, a node and the ScaledObject of the suite's policy
(tests/live/data/sleepy.yaml). Four closed-loop users load TorchServe (twin/live/loadgen.py) while
`servetwin live … --mode shadow` runs for `--duration` seconds; then `streamlit run app/dashboard.py` opens on the
Shadow tab with the run's shadow.csv and its URL is printed. On a terminal the dashboard stays up until Ctrl-C; in a
pipe (CI) the demo ends once the URL answered.

Everything it writes goes under `--out` (a folder it owns, replaced on the next run: twin/outputs.py): the settings
and kubeconfig it ran with, `live/` (the live run's own folder) and `live.log`. The servers' working files live in a
temporary folder, removed with the servers; every process it started is stopped on the way out, and nothing else.
Needs the test extra (KMock, TorchServe, Playwright's deps): `make shadow-demo` installs it as `make test` does.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

from tests.support import kube_cluster as kc, live_stack, prometheus
from tests.support.streamlit_server import ROOT, streamlit_app
from tests.support.torchserve import SLEEPY, RealTorchServe
from twin import outputs
from twin.config import values
from twin.errors import InputError
from twin.live.loadgen import LoadConfig, run_load

COMMAND = "shadow-demo"
NS = "serving"
POLICY = ROOT / "tests" / "live" / "data" / "sleepy.yaml"
USERS = 4  # on one 50 ms worker: ~20 req/s at ~200 ms, more than the policy's 5 req/s per pod (it would scale)
# Predictions every 5 s over 10 s ahead from a 10 s window: a one-minute run scored 8 of them here.
SHADOW = {"horizon_s": 10, "every_s": 5, "window": "10s", "score_delay_s": 3}


@dataclass(frozen=True)
class Stack:
    server: RealTorchServe
    prometheus_url: str
    kube_url: str


@dataclass(frozen=True)
class Result:
    out: Path
    shadow_csv: Path
    report: dict


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = run(Path(args.out), duration_s=args.duration)
    except InputError as error:  # --out names a folder that is not the demo's own
        print(f"shadow_demo: error: {error}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as error:  # a server that did not start (its message says why)
        print(f"shadow_demo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nshadow_demo: interrupted; every server it started is stopped", file=sys.stderr)
        return 130
    print(_summary(result), flush=True)
    with dashboard(result.shadow_csv) as url:
        print(f"Shadow tab: {url}", flush=True)
        if args.serve:
            _wait_for_interrupt()
    return 0


def _summary(result: Result) -> str:
    shadow = result.report.get("shadow", {})
    scored = f"{shadow.get('predictions_scored', 0)} predictions scored"
    if shadow.get("predictions_scored"):
        scored += (f", latency MAPE {shadow['latency_mape_pct']:.1f} %, "
                   f"throughput MAPE {shadow['throughput_mape_pct']:.1f} %")
    return f"shadow: {scored} ({result.out / 'live' / 'report.json'})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shadow_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=values.duration, default=60.0, metavar="S",
                        help="seconds of shadow mode (default 60)")
    parser.add_argument("--out", default="servetwin-shadow-demo", help="the demo's own folder (replaced each run)")
    parser.add_argument("--serve", action=argparse.BooleanOptionalAction, default=sys.stdout.isatty(),
                        help="keep the dashboard up until Ctrl-C (default: on a terminal only)")
    return parser


def run(out: Path, *, duration_s: float) -> Result:
    """The whole set-up, one shadow run under load, everything stopped again; the run's outputs under `out`."""
    folder = outputs.claim(out, command=COMMAND, resume=False, force=True)
    try:
        with tempfile.TemporaryDirectory(prefix="servetwin-shadow-demo-") as scratch, _stack(Path(scratch)) as stack:
            settings = _write_settings(folder, stack)
            asyncio.run(_shadow_under_load(stack, settings, duration_s, log=folder / "live.log"))
    finally:
        outputs.mark(folder, command=COMMAND)  # what is there is ours, even after a failure or Ctrl-C
    report = json.loads((folder / "live" / "report.json").read_text())
    return Result(folder, folder / "live" / "shadow.csv", report)


@contextlib.contextmanager
def _stack(scratch: Path) -> Iterator[Stack]:
    with RealTorchServe(workdir=scratch / "torchserve", models=(SLEEPY,), sleep_ms=50.0) as server, \
            prometheus.Server(config_yaml=live_stack.scrape_config(server, pod="sleepy-0", namespace=NS)) as prom, \
            kc.KubeApi() as kube:
        _seed(kube)
        live_stack.await_first_scrape(prom.url)
        yield Stack(server, prom.url, kube.url)


def _seed(kube: kc.KubeApi) -> None:
    """What a cluster running the suite's policy holds: the Deployment, its pod on a node, the ScaledObject."""
    kube.put(kc.APPS, NS, "sleepy", kc.deployment("sleepy", NS, replicas=1))
    kube.put(kc.PODS, NS, "sleepy-0", kc.pod("sleepy-0", NS, app="sleepy", node="n1"))
    kube.put(kc.NODES, None, "n1", kc.node("n1", pool="pool-a", cpu="64", memory="256Gi"))
    scaled_object = yaml.safe_load(POLICY.read_text())["autoscaling"]["keda"]["manifest"]["object"]
    # Paused: no KEDA operator runs on KMock, so the ScaledObject scales nothing, as KEDA's pause annotation says;
    # shadow runs the cluster's own autoscalers forward, and a running one here would scale pods the demo never has.
    scaled_object["metadata"]["annotations"] = {"autoscaling.keda.sh/paused": "true"}
    kube.put(kc.SCALED_OBJECTS, NS, "sleepy", scaled_object)


def _write_settings(folder: Path, stack: Stack) -> Path:
    (folder / "kubeconfig").write_text(live_stack.kubeconfig(stack.kube_url, namespace=NS))
    settings = {
        "scenario": str(POLICY),
        "cluster": {"namespace": NS, "deployment": "sleepy", "kubeconfig": "kubeconfig",
                    "node_pool_label": "agentpool", "request_timeout_s": 2},
        "torchserve": {"model": SLEEPY, "management": stack.server.urls.management},
        "prometheus": {"url": stack.prometheus_url},
        "shadow": SHADOW,
        "guardrails": {"namespaces": [NS], "objects": ["deployment/sleepy", "scaledobject/sleepy"],
                       "max_replicas": 4, "max_workers": 3},
        "tick_s": 0.5}
    path = folder / "live.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def _live_command(settings: Path, duration_s: float) -> list[str]:
    return [sys.executable, "-m", "twin", "live", str(settings), "--mode", "shadow", "--duration", f"{duration_s:g}",
            "--out", str(settings.parent / "live")]


async def _shadow_under_load(stack: Stack, settings: Path, duration_s: float, *, log: Path) -> None:
    """`servetwin live` in its own process (as a user runs it) while the users load TorchServe; the load stops
    when the live run has ended, so every horizon it scores was under the same load."""
    config = LoadConfig(base_url=stack.server.urls.inference, model=SLEEPY, users=USERS,
                        duration_s=duration_s + 600, payload=b"x", content_type="text/plain")
    asyncio.get_running_loop().set_exception_handler(_quiet_cancelled)
    load = asyncio.create_task(run_load(config))
    await asyncio.sleep(2)  # the first predictions' window sees the load already on
    command = _live_command(settings, duration_s)
    print("running: servetwin", " ".join(command[3:]), flush=True)
    try:
        with log.open("w") as output:
            live = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            try:
                returncode = await asyncio.to_thread(live.wait)
            finally:
                _stop(live)
    finally:
        load.cancel()
        await asyncio.gather(load, return_exceptions=True)
    if returncode != 0:
        raise SystemExit(f"shadow_demo: `servetwin live` exited {returncode}; see {log}")


def _quiet_cancelled(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The load ends by being cancelled; Python 3.11's wait_for leaves the cancelled gather's CancelledError
    unretrieved, which is logged as an error although none happened."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


def _stop(process: subprocess.Popen) -> None:
    """Ours only: SIGTERM halts the live run cleanly (it writes its report); kill it if it does not end."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dashboard_url(base: str, shadow_csv: Path) -> str:
    return f"{base}/?" + urllib.parse.urlencode({"tab": "Shadow", "shadow": str(shadow_csv.resolve())})


@contextlib.contextmanager
def dashboard(shadow_csv: Path) -> Iterator[str]:
    """`streamlit run app/dashboard.py` while the block runs; yields the URL that opens the Shadow tab on the report."""
    with streamlit_app() as base:
        yield dashboard_url(base, shadow_csv)


def _wait_for_interrupt() -> None:
    print("Ctrl-C stops the dashboard.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
