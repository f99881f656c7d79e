"""The Prometheus HTTP API as the live adapter's metrics port: the same PromQL strings the twin evaluates.

Fidelity ledger (upstream: Prometheus 2.x HTTP API, `/api/v1/query` and `/api/v1/query_range`):
- Modelled: instant queries (vector and scalar results; a matrix or string result is refused, as the twin's evaluator
  refuses it), range queries, `status: error` answers (bad_data, execution, timeout) and HTTP errors, the NaN and
  ±Inf spellings of sample values, the `timeout` query parameter.
- Not modelled: native histograms, warnings (ignored), basic auth and TLS client certificates (a URL with user and
  password works through urllib).

A failure of any kind (Prometheus down, a gap, a refused query) raises `MetricsUnavailable`: a control step then sees a
missing metric, exactly as in the twin, and the loop goes on.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from twin.ports import MetricsUnavailable, Sample

RangeSeries = tuple[dict[str, str], list[tuple[float, float]]]


@dataclass(frozen=True)
class PrometheusApi:
    url: str
    timeout_s: float = 10.0

    def query(self, promql: str, *, at_s: float | None = None) -> list[Sample]:
        """Instant query (now, or at `at_s` epoch seconds)."""
        params = {"query": promql, "timeout": f"{self.timeout_s:g}s"}
        if at_s is not None:
            params["time"] = f"{at_s:.3f}"
        data = self._get("/api/v1/query", params, promql)
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar":
            return [Sample({}, _number(result[1]))]
        if kind != "vector":
            raise MetricsUnavailable(f"{promql!r}: expected an instant vector or scalar, got a {kind}")
        return [Sample(item["metric"], _number(item["value"][1])) for item in result]

    def query_range(self, promql: str, *, start_s: float, end_s: float, step_s: float) -> list[RangeSeries]:
        params = {"query": promql, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}", "step": f"{step_s:g}",
                  "timeout": f"{self.timeout_s:g}s"}
        data = self._get("/api/v1/query_range", params, promql)
        return [(item["metric"], [(float(t), _number(v)) for t, v in item["values"]]) for item in data["result"]]

    def _get(self, path: str, params: dict[str, str], promql: str) -> dict:
        address = f"{self.url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout_s + 2.0) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as error:  # 400 and 422 carry the engine's own error in the body
            payload = _error_body(error)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise MetricsUnavailable(f"{promql!r}: Prometheus at {self.url} did not answer ({error})") from None
        if payload.get("status") != "success":
            raise MetricsUnavailable(f"{promql!r}: {payload.get('errorType', 'error')}: {payload.get('error', '')}")
        return payload["data"]


def _error_body(error: urllib.error.HTTPError) -> dict:
    try:
        return json.loads(error.read() or b"{}")
    except ValueError:
        return {"status": "error", "errorType": str(error.code), "error": error.reason}


def _number(text: str) -> float:
    return float(text)  # Prometheus spells NaN, +Inf and -Inf as Python's float() reads them
