"""The real-TorchServe fixture: serves both models, scales asynchronously, exposes metrics, stops cleanly."""

import json
import re
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.support.torchserve import SLEEPY, TINY_ENCODER, RealTorchServe, TorchServeError


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    all_headers = {"Content-Type": "application/octet-stream", **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_sleepy_model_answers_with_its_configured_sleep(torchserve: RealTorchServe) -> None:
    status, body = _post(f"{torchserve.urls.inference}/predictions/{SLEEPY}", b"{}")
    assert status == 200
    assert json.loads(body)["slept_ms"] == 50.0
    assert torchserve.startup_s is not None and torchserve.startup_s < 90


def test_tiny_encoder_is_deterministic_per_input(torchserve: RealTorchServe) -> None:
    url = f"{torchserve.urls.inference}/predictions/{TINY_ENCODER}"
    first, second, other = (json.loads(_post(url, text)[1]) for text in (b"hello world", b"hello world", b"zz"))
    assert len(first["logits"]) == 8
    assert first == second
    assert first["logits"] != other["logits"]


def test_scale_sleepy_to_two_workers_then_back(torchserve: RealTorchServe) -> None:
    described = torchserve.scale(SLEEPY, 2, 2)
    workers = described[0]["workers"]
    assert [worker["status"] for worker in workers] == ["READY", "READY"]
    assert len({worker["pid"] for worker in workers}) == 2
    assert described[0]["minWorkers"] == 2 and described[0]["maxWorkers"] == 2
    assert torchserve.ready_workers(SLEEPY) == 2
    torchserve.scale(SLEEPY, 1)
    assert torchserve.ready_workers(SLEEPY) == 1


def test_metrics_port_counts_inference_requests(torchserve: RealTorchServe) -> None:
    _post(f"{torchserve.urls.inference}/predictions/{SLEEPY}", b"{}")
    with urllib.request.urlopen(f"{torchserve.urls.metrics}/metrics", timeout=10) as response:
        text = response.read().decode()
    counted = re.search(r'^ts_inference_requests_total\{model_name="sleepy".*\} (\S+)$', text, re.MULTILINE)
    assert counted is not None and float(counted.group(1)) >= 1


def test_token_authorization_and_clean_stop() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        with RealTorchServe(workdir=Path(workdir), models=(SLEEPY,), token_auth=True) as server:
            url = f"{server.urls.inference}/predictions/{SLEEPY}"
            assert server.keys is not None and server.keys.inference != server.keys.management
            assert _post(url, b"{}")[0] == 400
            assert _post(url, b"{}", server.auth_headers("management"))[0] == 400
            assert _post(url, b"{}", server.auth_headers())[0] == 200
            family = [psutil.Process(pid) for pid in server.process_ids()]
            assert len(family) >= 3  # launcher, JVM, one worker
        assert not server.running and server.process_ids() == []
        assert not any(process.is_running() for process in family)


def test_start_failure_raises_and_leaves_nothing_behind() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        server = RealTorchServe(workdir=Path(workdir), models=("no_such_model",), start_timeout_s=60)
        with pytest.raises(TorchServeError, match="no_such_model failed to register"):
            server.start()
        assert not server.running
        assert not _listening(server.ports["management"])
