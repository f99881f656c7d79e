"""TorchServe's management API as ServeTwin calls it: list, describe, async scaling, register/unregister, and
counters from `/metrics`. `servetwin observe` and the live adapter share it.

Fidelity ledger (upstream: pytorch/serve 0.12.0 management API, token authorization and prometheus metrics mode):
- Modelled: `GET /models/NAME` answers a list of model objects (the first is the default version);
  `PUT /models/NAME?min_worker=N&max_worker=N&synchronous=false` answers 202 and scales in the background, so
  readiness is polled from describe (every worker READY, exactly N of them; a starting worker shows UNLOADING), never
  `synchronous=true` (it stalls inference connections meanwhile). With token authorization on, every inference and
  management call, `/ping` included, needs its own bearer key (`key_file.json`: `inference`, `management`) and a
  wrong key answers 400 InvalidKeyException; the metrics port takes no key. Counters are read from the text
  exposition as `name{labels} value`, values possibly in Java notation (`4.5E8`); a counter not yet incremented is
  absent (read as 0 when the metric family is announced by `# TYPE`).
- Key expiry (TokenAuthorization in the 0.12.0 frontend jar, and measured here): the management and inference
  keys expire `token_expiration_min` after they were made (default 60, read as a double); an expired key is
  refused like a wrong one (400 InvalidKeyException). `GET /token?type=management` on the management API with the
  API key (which never expires) makes a new management key, rewrites key_file.json and answers an empty body.
  An Endpoint given the key file renews a refused key once per call: the file's key if another client renewed it
  already, else a new one from the token API. That needs the file TorchServe writes (its working folder, e.g. a
  volume the adapter shares); observe takes a fixed key and does not renew.
- Not modelled: model versions other than the default, OpenMetrics, label values containing `,` or `}`.
- Registering passes `synchronous=false` (a synchronous registration blocks until the workers are up) and needs
  `enable_model_api=true` on the server (405 without it).
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.config import reading
from twin.errors import InputError
from twin.live.failures import ApiFailure, from_status
from twin.ports import WorkersView

COUNTERS = ("ts_inference_requests_total", "ts_inference_latency_microseconds", "ts_queue_latency_microseconds")
_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_POLL_S = 0.1


class ObserveError(ApiFailure):
    """The deployment misbehaved (not a user mistake): a scale timed out, a call failed with this status."""


class KeyFile:
    """The management key of TorchServe's key_file.json, kept between calls and renewed when TorchServe refuses it
    (see the ledger): read the file again, and if it still holds the refused key, ask the token API for a new one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key = _keys(path)["management"]

    def key(self) -> str:
        return self._key

    def renewed(self, management_url: str, refused: str) -> str:
        fresh = _keys(self.path)
        if fresh["management"] == refused:  # nobody renewed it yet: the token API writes a new one to the file
            _call("GET", f"{management_url.rstrip('/')}/token?type=management", token=fresh["API"], timeout_s=10.0)
            fresh = _keys(self.path)
        self._key = fresh["management"]
        return self._key


@dataclass(frozen=True)
class Endpoint:
    """One TorchServe API: its base URL and the bearer key it wants (None without token authorization), or the
    key file whose management key is renewed when refused."""

    url: str
    token: str | None = None
    keys: KeyFile | None = None

    def get(self, path: str, *, timeout_s: float = 10.0) -> bytes:
        return self._send("GET", path, timeout_s)

    def put(self, path: str, *, timeout_s: float = 10.0) -> bytes:
        return self._send("PUT", path, timeout_s)

    def post(self, path: str, *, timeout_s: float = 10.0) -> bytes:
        return self._send("POST", path, timeout_s)

    def delete(self, path: str, *, timeout_s: float = 10.0) -> bytes:
        return self._send("DELETE", path, timeout_s)

    def _send(self, method: str, path: str, timeout_s: float) -> bytes:
        """A refused key is renewed and the call sent once more: TorchServe refuses before handling, so a write
        refused was never applied."""
        url = self.url.rstrip("/") + path
        token = self.keys.key() if self.keys else self.token
        try:
            return _call(method, url, token=token, timeout_s=timeout_s)
        except InputError as error:
            if self.keys is None or error.field != "token":
                raise
        return _call(method, url, token=self.keys.renewed(self.url, token), timeout_s=timeout_s)


def list_models(management: Endpoint) -> list[str]:
    """Every registered model's name, following `nextPageToken` pages."""
    names, token = [], ""
    while True:
        answer = json.loads(management.get("/models?limit=100" + (f"&next_page_token={token}" if token else "")))
        names += [model["modelName"] for model in answer.get("models", ())]
        token = answer.get("nextPageToken", "")
        if not token:
            return names


def register(management: Endpoint, archive_url: str, *, initial_workers: int = 1, name: str | None = None) -> None:
    """Register a model archive (a .mar name in the model store, or a URL) and start its workers in the background."""
    fields = {"url": archive_url, "initial_workers": initial_workers, "synchronous": "false"}
    query = urllib.parse.urlencode({**fields, **({"model_name": name} if name else {})})
    management.post(f"/models?{query}")


def unregister(management: Endpoint, model: str) -> None:
    management.delete(f"/models/{model}")


def request_workers(management: Endpoint, model: str, min_workers: int, max_workers: int) -> None:
    """Ask for workers asynchronously (202); describe shows them starting, then READY."""
    management.put(f"/models/{model}?min_worker={min_workers}&max_worker={max_workers}&synchronous=false")


def read_keys(path: Path) -> tuple[str, str]:
    """(inference, management) bearer keys from TorchServe's key_file.json."""
    keys = _keys(path)
    return keys["inference"], keys["management"]


def _keys(path: Path) -> dict[str, str]:
    """Every key of key_file.json by API: inference, management and API (the token API's own)."""
    keys = reading.parse_json(reading.read_text(path), source=str(path), expected="TorchServe's key_file.json")
    try:
        return {api: str(keys[api]["key"]) for api in ("inference", "management", "API")}
    except (KeyError, TypeError):
        raise InputError(source=str(path), field="inference.key, management.key, API.key",
                         expected="TorchServe's key_file.json", got="other content") from None


def describe(management: Endpoint, model: str) -> tuple[bytes, dict[str, Any]]:
    """The raw describe answer and its default-version model object."""
    raw = management.get(f"/models/{model}")
    try:
        answer = json.loads(raw)
        description = answer[0] if isinstance(answer, list) else answer
        if isinstance(description.get("workers"), list) and "minWorkers" in description:
            return raw, description
    except (ValueError, IndexError, AttributeError):
        pass
    raise InputError(source=f"{management.url}/models/{model}", field="", expected="TorchServe's describe JSON",
                     got=repr(raw[:80]))


def ready_workers(description: dict[str, Any]) -> int:
    return sum(worker.get("status") == "READY" for worker in description.get("workers", ()))


def workers_view(description: dict[str, Any]) -> WorkersView:
    """Describe's answer as the control steps read it: a starting worker shows as anything but READY."""
    ready = ready_workers(description)
    queue = description.get("jobQueueStatus") or {}
    return WorkersView(min_workers=int(description.get("minWorkers", 0)),
                       max_workers=int(description.get("maxWorkers", 0)), ready=ready,
                       starting=len(description.get("workers", ())) - ready,
                       pending_requests=int(queue.get("pendingRequests", 0)))


def scale(management: Endpoint, model: str, workers: int, *, timeout_s: float,
          max_workers: int | None = None) -> dict[str, Any]:
    """Ask for `workers` workers asynchronously, then poll describe until exactly that many are all READY."""
    request_workers(management, model, workers, workers if max_workers is None else max_workers)
    deadline = time.monotonic() + timeout_s
    while True:
        _, description = describe(management, model)
        if len(description.get("workers", ())) == workers and ready_workers(description) == workers:
            return description
        if time.monotonic() >= deadline:
            raise ObserveError(f"{model}: {workers} worker(s) not READY within {timeout_s:g} s "
                               f"({ready_workers(description)} READY)")
        time.sleep(_POLL_S)


def counters(text: str, model: str) -> dict[str, float]:
    """The model's COUNTERS summed over label sets; an announced counter with no sample yet is 0."""
    totals = {name: 0.0 for name in COUNTERS if f"# TYPE {name} " in text}
    for line in text.splitlines():
        match = _SAMPLE.fullmatch(line.strip())
        if not match or match.group(1) not in COUNTERS:
            continue
        labels = dict(_LABEL.findall(match.group(2) or ""))
        if labels.get("model_name", model) == model:
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(3))
    return totals


def _call(method: str, url: str, *, token: str | None, timeout_s: float) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise _http_error(method, url, error) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise InputError(source=url, field="", expected="a TorchServe API answering",
                         got=f"no answer ({reason})") from None


def _http_error(method: str, url: str, error: urllib.error.HTTPError) -> InputError | ObserveError:
    body = error.read()[:200].decode(errors="replace")
    if error.code == 404:
        return InputError(source=url, field="", expected="a TorchServe path and a registered model",
                          got=f"404 {_message(body)}")
    if error.code in (401, 403) or "InvalidKey" in body:  # TorchServe answers a bad key with 400
        return InputError(source=url, field="token", expected="a valid bearer key",
                          got=f"{error.code} {_message(body)}")
    failure = from_status(f"{method} {url}: {error.code} {_message(body)}", error.code)
    return ObserveError(str(failure), status=error.code, retryable=failure.retryable, conflict=failure.conflict)


def _message(body: str) -> str:
    try:
        return str(json.loads(body).get("message", body)).strip()
    except (ValueError, AttributeError):
        return body.strip()
