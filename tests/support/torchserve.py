"""A real TorchServe (0.12) on loopback for tests: small random-weight models, own ports, clean stop.

Fidelity ledger: this is the real server (pytorch/serve 0.12.0, frontend jar + Python workers), not a model
of it. What the fixture adds: models built locally with random weights (`sleepy`, a handler that only
sleeps, for deterministic queueing; `tiny_encoder`, a traced two-layer transformer encoder, for realism; `encoder4`,
four wider layers, CPU-bound, registered on demand with any batch settings),
five private loopback ports, private TEMP/TMPDIR/LOG_LOCATION/METRICS_LOCATION, a quiet log4j2 config and
readiness read from the management API (every worker READY; `/ping` answers Healthy while workers
crash-loop). Not covered: GPUs, gRPC clients, snapshots (started with --ncs).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # a dependency of torchserve itself

from tests.support.ts_models import ALL_MODELS, ENCODER4, QUIET_LOG_CONFIG, SLEEPY, TINY_ENCODER, build_models

__all__ = ["ALL_MODELS", "ENCODER4", "SLEEPY", "TINY_ENCODER", "RealTorchServe", "TokenKeys", "TorchServeError",
           "TorchServeUrls", "build_models"]

SLEEP_ENV = "SERVETWIN_SLEEP_MS"
_PORT_NAMES = ("inference", "management", "metrics", "grpc_inference", "grpc_management")


class TorchServeError(RuntimeError):
    """TorchServe did not start, answer or scale as expected; the message carries its log tail."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status when TorchServe answered with an error


@dataclass(frozen=True)
class TorchServeUrls:
    inference: str
    management: str
    metrics: str


@dataclass(frozen=True)
class TokenKeys:
    """Bearer keys TorchServe wrote to key_file.json when token authorization is on."""

    inference: str
    management: str
    api: str  # for the token API itself (regenerating keys)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _config_properties(*, ports: dict[str, int], store: Path, token_auth: bool, job_queue_size: int,
                       token_expiration_min: float | None = None, host: str = "127.0.0.1") -> str:
    lines = {
        "inference_address": f"http://{host}:{ports['inference']}",
        "management_address": f"http://{host}:{ports['management']}",
        "metrics_address": f"http://{host}:{ports['metrics']}",
        "grpc_inference_address": host,
        "grpc_management_address": host,
        "grpc_inference_port": ports["grpc_inference"],
        "grpc_management_port": ports["grpc_management"],
        "model_store": store,
        "number_of_gpu": 0,
        "default_workers_per_model": 1,
        "job_queue_size": job_queue_size,
        "metrics_mode": "prometheus",
        "enable_metrics_api": "true",
        "enable_model_api": "true",
        "disable_token_authorization": str(not token_auth).lower(),
        "vmargs": "-Xmx512m -XX:-UsePerfData",  # no hsperfdata files in the shared /tmp
    }
    if token_expiration_min is not None:  # read as a double: 0.05 is 3 s (ConfigManager.getTimeToExpiration)
        lines["token_expiration_min"] = token_expiration_min
    return "".join(f"{key}={value}\n" for key, value in lines.items())


class RealTorchServe:
    """One TorchServe instance; use as a context manager (or start()/stop() from a pytest fixture)."""

    def __init__(self, *, workdir: Path, models: tuple[str, ...] = ALL_MODELS, sleep_ms: float = 50.0,
                 token_auth: bool = False, token_expiration_min: float | None = None, job_queue_size: int = 100,
                 start_timeout_s: float = 90.0, host: str = "127.0.0.1", management_port: int | None = None):
        """`host`: another loopback address (127.0.0.2) stands for another pod's IP; `management_port`: the same
        management port as another instance's, as every pod of a Deployment has."""
        self.workdir = Path(workdir)
        self.model_names = tuple(models)
        self.sleep_ms = sleep_ms
        self.token_auth = token_auth
        self.token_expiration_min = token_expiration_min
        self.job_queue_size = job_queue_size
        self.start_timeout_s = start_timeout_s
        self.host = host
        self.ports = dict(zip(_PORT_NAMES, _free_ports(len(_PORT_NAMES))))
        if management_port is not None:
            self.ports["management"] = management_port
        self.urls = TorchServeUrls(**{name: f"http://{host}:{self.ports[name]}"
                                      for name in ("inference", "management", "metrics")})
        self.keys: TokenKeys | None = None
        self.startup_s: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> RealTorchServe:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> RealTorchServe:
        store = build_models()
        begun = time.monotonic()
        self._launch(store)
        atexit.register(self.stop)
        try:
            self._await_ready(deadline=begun + self.start_timeout_s)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - begun
        return self

    def stop(self) -> None:
        """SIGTERM the JVM, wait for it and its workers, then kill whatever is left of the session."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        family = _family(proc.pid)
        jvm_pid = self._jvm_pid()
        ours = jvm_pid is not None and any(process.pid == jvm_pid for process in family)  # never a reused pid
        _signal(jvm_pid if ours else proc.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=10)
        for leftover in alive:
            _signal(leftover.pid, signal.SIGKILL)
        _killpg(proc.pid)
        proc.wait(timeout=10)
        psutil.wait_procs(alive, timeout=5)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def process_ids(self) -> list[int]:
        """The launcher, the JVM and its Python workers (empty once stopped)."""
        return [process.pid for process in _family(self._proc.pid)] if self._proc else []

    # -- management API --------------------------------------------------------------------------
    def describe(self, name: str) -> list[dict[str, Any]]:
        return json.loads(self._request("GET", f"{self.urls.management}/models/{name}", api="management"))

    def ready_workers(self, name: str) -> int:
        workers = self.describe(name)[0]["workers"]
        return sum(worker["status"] == "READY" for worker in workers)

    def scale(self, name: str, min_workers: int, max_workers: int | None = None, *,
              timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Scale asynchronously (202), then poll describe until exactly min_workers are all READY."""
        top = min_workers if max_workers is None else max_workers
        url = f"{self.urls.management}/models/{name}?min_worker={min_workers}&max_worker={top}&synchronous=false"
        self._request("PUT", url, api="management")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            description = self.describe(name)
            workers = description[0]["workers"]
            if len(workers) == min_workers and all(w["status"] == "READY" for w in workers):
                return description
            time.sleep(0.1)
        raise TorchServeError(f"{name}: {min_workers} workers not READY after {timeout_s} s\n{self.log_tail()}")

    def register(self, name: str, archive: str, *, batch_size: int = 1, max_batch_delay_ms: int = 100,
                 workers: int = 1) -> list[dict[str, Any]]:
        """Register `archive` (a .mar of the store) under `name` with these batch settings; wait for its workers."""
        query = (f"url={archive}.mar&model_name={name}&batch_size={batch_size}&max_batch_delay={max_batch_delay_ms}"
                 f"&initial_workers={workers}&synchronous=false")
        self._request("POST", f"{self.urls.management}/models?{query}", api="management")
        return self.scale(name, workers, timeout_s=self.start_timeout_s)

    def unregister(self, name: str) -> None:
        self._request("DELETE", f"{self.urls.management}/models/{name}", api="management")

    def auth_headers(self, api: str = "inference") -> dict[str, str]:
        """Bearer header for `api` ("inference" or "management"); empty when token auth is off."""
        if self.keys is None:
            return {}
        return {"Authorization": f"Bearer {getattr(self.keys, api)}"}

    def renew_keys(self) -> TokenKeys:
        """New management and inference keys from the token API (`/token?type=...` with the API key, which never
        expires); TorchServe rewrites key_file.json with them."""
        for api in ("management", "inference"):
            request = urllib.request.Request(f"{self.urls.management}/token?type={api}",
                                             headers={"Authorization": f"Bearer {self.keys.api}"})
            with urllib.request.urlopen(request, timeout=10):
                pass
        self.keys = self._read_keys()
        return self.keys

    def log_tail(self, lines: int = 40) -> str:
        logs = [self.workdir / "stdout.log", self.workdir / "logs" / "ts_log.log"]
        text = "".join(path.read_text(errors="replace") for path in logs if path.is_file())
        return "\n".join(text.splitlines()[-lines:])

    # -- internals -------------------------------------------------------------------------------
    def _launch(self, store: Path) -> None:
        for sub in ("tmp", "logs", "metrics"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.properties"
        config.write_text(_config_properties(ports=self.ports, store=store, token_auth=self.token_auth,
                                             job_queue_size=self.job_queue_size,
                                             token_expiration_min=self.token_expiration_min, host=self.host))
        command = [_venv_tool("torchserve"), "--start", "--foreground", "--ncs", "--ts-config", str(config),
                   "--model-store", str(store), "--log-config", str(QUIET_LOG_CONFIG),
                   "--models", *(f"{name}={name}.mar" for name in self.model_names)]
        with open(self.workdir / "stdout.log", "wb") as out:
            # key_file.json lands in the cwd; a new session lets stop() reach every descendant
            self._proc = subprocess.Popen(command, cwd=self.workdir, env=self._environment(), stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)

    def _environment(self) -> dict[str, str]:
        tmp = str(self.workdir / "tmp")
        env = dict(os.environ, TEMP=tmp, TMPDIR=tmp, LOG_LOCATION=str(self.workdir / "logs"),
                   METRICS_LOCATION=str(self.workdir / "metrics"))
        env[SLEEP_ENV] = str(self.sleep_ms)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def _await_ready(self, *, deadline: float) -> None:
        pending = list(self.model_names)
        while pending:
            if self._proc is None or self._proc.poll() is not None:
                raise TorchServeError(f"TorchServe exited during start\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TorchServeError(f"TorchServe not ready (waiting for {pending})\n{self.log_tail()}")
            if self.token_auth and self.keys is None:
                self.keys = self._read_keys()
            if self.keys is not None or not self.token_auth:
                pending = [name for name in pending if not self._all_ready(name)]
            time.sleep(0.1)

    def _all_ready(self, name: str) -> bool:
        try:
            model = self.describe(name)[0]
        except TorchServeError as error:
            if error.status == 404:  # --models are registered before the API listens: this one failed
                raise TorchServeError(f"model {name} failed to register\n{self.log_tail()}") from error
            if error.status == 400 and self.token_expiration_min is not None:
                self.renew_keys()  # a short expiry can run out while the workers start
            return False
        except (OSError, ValueError):
            return False
        workers = model["workers"]
        return len(workers) >= max(1, model["minWorkers"]) and all(w["status"] == "READY" for w in workers)

    def _read_keys(self) -> TokenKeys | None:
        try:
            keys = json.loads((self.workdir / "key_file.json").read_text())
        except (OSError, ValueError):
            return None
        return TokenKeys(inference=keys["inference"]["key"], management=keys["management"]["key"],
                         api=keys["API"]["key"])

    def _request(self, method: str, url: str, *, api: str) -> bytes:
        request = urllib.request.Request(url, method=method, headers=self.auth_headers(api))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise TorchServeError(f"{method} {url}: {error.code} {error.read()[:300]!r}",
                                 status=error.code) from error

    def _jvm_pid(self) -> int | None:
        try:
            return int((self.workdir / "tmp" / ".model_server.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def _venv_tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else (shutil.which(name) or name)


def _family(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
