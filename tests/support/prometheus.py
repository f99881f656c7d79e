"""Run Debian's real `prometheus` binary on loopback for tests, feed it exact samples, and query it.

    with prometheus.Server() as server:
        server.remote_write([prometheus.Series({"__name__": "up", "job": "x"}, [(t_ms, 1.0), ...])])
        server.query("sum(up)", at_s=...)

Samples go in through the remote-write receiver (`--web.enable-remote-write-receiver`, Prometheus >= 2.33): it
stores float64 values bit for bit, so staleness markers (the stale-NaN bit pattern) reach the TSDB as the scraper
would write them. The request body is a protobuf `prometheus.WriteRequest` compressed with snappy; both are
encoded here by hand (literal-only snappy is a valid snappy block) so the tests need no extra Python packages.
A missing binary raises RuntimeError: tests that need the real engine fail rather than skip.
"""
from __future__ import annotations

import datetime
import json
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

INSTALL_HINT = "install it with scripts/install-system-deps (Debian package `prometheus`)"
_CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs: []\n"


@dataclass(frozen=True)
class Series:
    labels: Mapping[str, str]  # include "__name__"
    samples: Sequence[tuple[int, float]]  # (timestamp ms, value), increasing timestamps


def binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        raise RuntimeError(f"the `prometheus` binary is not on PATH; {INSTALL_HINT}")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A throw-away Prometheus: temp config and TSDB directory, free loopback port, stopped on exit."""

    def __init__(self, *, extra_args: Sequence[str] = (), config_yaml: str = _CONFIG, ready_timeout_s: float = 20.0):
        self._extra_args = list(extra_args)
        self._config_yaml = config_yaml
        self._ready_timeout_s = ready_timeout_s
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        exe = binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="prometheus-test-")
        root = Path(self._tmp.name)
        (root / "prometheus.yml").write_text(self._config_yaml)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [exe, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver", *self._extra_args]
        log = open(root / "prometheus.log", "wb")
        self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait_ready(root / "prometheus.log")

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + self._ready_timeout_s
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"prometheus not ready within {self._ready_timeout_s} s:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def remote_write(self, series: Iterable[Series]) -> None:
        body = _snappy_literal(_write_request(series))
        request = urllib.request.Request(self.url + "/api/v1/write", data=body, method="POST", headers={
            "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                resp.read()
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"remote write refused ({err.code}): {err.read().decode(errors='replace')}") from None

    def query(self, expr: str, *, at_s: float) -> dict[str, Any]:
        """The `data` of /api/v1/query (resultType and result); an engine error raises RuntimeError.

        The time travels as RFC 3339 with milliseconds: Prometheus' float-seconds parser can land 1 ms early.
        """
        params = urllib.parse.urlencode({"query": expr, "time": rfc3339_ms(round(at_s * 1000))})
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?{params}", timeout=10) as resp:
                payload = json.load(resp)
        except urllib.error.HTTPError as err:
            payload = json.loads(err.read() or b"{}")
        if payload.get("status") != "success":
            raise RuntimeError(f"prometheus refused {expr!r}: {payload.get('error', payload)}")
        return payload["data"]


def rfc3339_ms(t_ms: int) -> str:
    stamp = datetime.datetime.fromtimestamp(t_ms // 1000, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{t_ms % 1000:03d}Z"


# --- protobuf (prompb.WriteRequest) and snappy, the minimum the receiver needs -----------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:  # length-delimited field (wire type 2)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _sample(t_ms: int, value: float) -> bytes:
    # Sample{double value = 1; int64 timestamp = 2}; the double is copied bit for bit (stale NaN survives).
    return b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(t_ms & 0xFFFFFFFFFFFFFFFF)


def _write_request(series: Iterable[Series]) -> bytes:
    out = bytearray()
    for s in series:
        ts = bytearray()
        for name, value in sorted(s.labels.items()):  # Prometheus expects labels sorted by name
            ts += _field(1, _field(1, name.encode()) + _field(2, value.encode()))
        for t_ms, value in s.samples:
            ts += _field(2, _sample(t_ms, value))
        out += _field(1, bytes(ts))
    return bytes(out)


def _snappy_literal(data: bytes) -> bytes:
    """A snappy block holding `data` as one literal: varint length, tag 0xFC (4-byte length-1), bytes."""
    if not data:
        return _varint(0)
    return _varint(len(data)) + b"\xfc" + struct.pack("<I", len(data) - 1) + data
