"""The Prometheus scaler's reading of one `/api/v1/query` reply: HTTP status and JSON body → a value or an error.

Fidelity ledger — upstream kedacore/keda (main of 2026-08, commit 8b4f083c), `pkg/scalers/prometheus_scaler.go`
(`ExecutePromQuery`, `promQueryResult`) and the `testPromQueryResult` table of `prometheus_scaler_test.go`.
Modelled, in upstream's order: a status outside 2xx is an error; the body is decoded as Go's encoding/json decodes
it into `promQueryResult` (keys matched case-insensitively, null leaves a field empty, a scalar result — a list of
a number and a string — cannot decode into the sample list and is an error); no sample → 0 when
`ignoreNullValues`, else an error; more than one → "returned multiple elements"; a sample whose value list is
empty → 0 or an error as above; a one-element value list → "didn't return enough values"; a null value → -1
(Go keeps its starting value); a text `strconv.ParseFloat` rejects → an error, one out of float64 range too;
NaN and ±Inf → 0 when `ignoreNullValues`, else an error.
Not modelled: the transport (timeouts, TLS, auth headers); `response_headers`/metrics recording.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from twin.policies.keda.triggers import TriggerError, TriggerResult

_GO_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity)|nan", re.IGNORECASE)
_GO_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+")


class _Undecodable(Exception):
    """The body does not decode into `promQueryResult` (Go's json.Unmarshal error)."""


def decode_reply(status: int, body: str | bytes, *, ignore_null_values: bool, query: str = "") -> TriggerResult:
    """What `ExecutePromQuery` returns for this reply."""
    if not 200 <= status <= 299:
        return TriggerError(f"prometheus query api returned error. status: {status}")
    try:
        samples = _samples(json.loads(body))
    except (ValueError, _Undecodable) as error:
        return TriggerError(f"cannot decode the prometheus reply: {error}")
    if len(samples) > 1:
        return TriggerError(f"prometheus query {query} returned multiple elements")
    if not samples or not samples[0]:
        lost = "the result is empty" if not samples else "the value list is empty"
        lost_error = TriggerError(f"prometheus metrics 'prometheus' target may be lost, {lost}")
        return 0.0 if ignore_null_values else lost_error
    value = samples[0]
    if len(value) < 2:
        return TriggerError(f"prometheus query {query} didn't return enough values")
    return _number(value[1], ignore_null_values=ignore_null_values)


def _field(obj: dict, name: str) -> Any:
    """encoding/json's key match: exact first, else case-insensitive."""
    if name in obj:
        return obj[name]
    return next((v for k, v in obj.items() if k.lower() == name), None)


def _expect(value: Any, kind: type, what: str) -> Any:
    if value is not None and not isinstance(value, kind):
        raise _Undecodable(f"{what} is {type(value).__name__}, not {kind.__name__}")
    return value


def _samples(reply: Any) -> list[list]:
    """data.result as a list of value lists (None for a null element's value)."""
    data = _expect(_field(_expect(reply, dict, "the reply") or {}, "data"), dict, "data") or {}
    result = _expect(_field(data, "result"), list, "data.result") or []
    samples = []
    for item in result:
        item = _expect(item, dict, "a result element") or {}
        _expect(_field(item, "metric"), dict, "metric")
        samples.append(_expect(_field(item, "value"), list, "value") or [])
    return samples


def _number(raw: Any, *, ignore_null_values: bool) -> TriggerResult:
    if raw is None:
        return -1.0  # upstream's `var v float64 = -1` survives a null value
    if not isinstance(raw, str):
        return TriggerError(f"prometheus value {raw!r} is not a string")
    value = _parse_float(raw)
    if value is None:
        return TriggerError(f"strconv.ParseFloat: parsing {raw!r}: invalid syntax")
    if math.isnan(value) or math.isinf(value):
        return 0.0 if ignore_null_values else TriggerError(f"prometheus query returns {raw}")
    return value


def _parse_float(text: str) -> float | None:
    """`strconv.ParseFloat(text, 64)`: None for a syntax error or a finite text out of float64 range."""
    if _GO_HEX_FLOAT.fullmatch(text):
        value = float.fromhex(text)
    elif _GO_FLOAT.fullmatch(text):
        value = float(text)
    else:
        return None
    finite_text = not re.search(r"inf|nan", text, re.IGNORECASE)
    return None if finite_text and math.isinf(value) else value
