"""The live adapter's TorchServe and Prometheus clients against the real servers: a TorchServe started by the suite
and Debian's Prometheus scraping its metrics endpoint."""
from __future__ import annotations

import time

import pytest

from tests.support import prometheus
from tests.support.torchserve import SLEEPY, RealTorchServe
from twin.live import torchserve_api as ts
from twin.live.failures import ApiFailure
from twin.live.live_ports import TorchServeFleet
from twin.live.prometheus_api import PrometheusApi
from twin.ports import MetricsUnavailable


def scrape_config(target: str) -> str:
    return ("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"scrape_configs:\n  - job_name: torchserve\n    static_configs: [{{targets: ['{target}']}}]\n")


@pytest.fixture(scope="module")
def scraping(torchserve: RealTorchServe):
    with prometheus.Server(config_yaml=scrape_config(torchserve.urls.metrics.removeprefix("http://"))) as server:
        api, deadline = PrometheusApi(server.url), time.monotonic() + 30
        while not api.query("up == 1") and time.monotonic() < deadline:
            time.sleep(0.2)  # the first scrape: counters seen before the requests, so rate() sees them grow
        yield server


def fleet(torchserve: RealTorchServe) -> TorchServeFleet:
    endpoint = ts.Endpoint(torchserve.urls.management)
    return TorchServeFleet(SLEEPY, lambda pod: endpoint if pod == "pod-a" else None)


def infer(torchserve: RealTorchServe, count: int) -> None:
    import urllib.request
    for _ in range(count):
        request = urllib.request.Request(f"{torchserve.urls.inference}/predictions/{SLEEPY}", data=b"x",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()


def test_describe_reads_workers_and_queue_as_the_control_steps_see_them(torchserve: RealTorchServe):
    view = fleet(torchserve).describe("pod-a")
    assert view is not None
    assert (view.min_workers, view.ready, view.starting) == (torchserve.ready_workers(SLEEPY),) * 2 + (0,)
    assert view.pending_requests == 0


def test_an_unknown_pod_or_a_silent_api_is_no_view_and_a_write_to_it_a_failure(torchserve: RealTorchServe):
    assert fleet(torchserve).describe("pod-b") is None
    with pytest.raises(ApiFailure, match="no TorchServe management address for pod pod-b"):
        fleet(torchserve).request_workers("pod-b", 2, 2)
    silent = TorchServeFleet(SLEEPY, lambda pod: ts.Endpoint("http://127.0.0.1:9"))
    assert silent.describe("pod-a") is None
    with pytest.raises(ApiFailure):
        silent.request_workers("pod-a", 2, 2)


def test_workers_scale_asynchronously_and_describe_shows_them_start(torchserve: RealTorchServe):
    pods = fleet(torchserve)
    before = pods.workers("pod-a")
    try:
        pods.request_workers("pod-a", 3, 3)
        early = pods.describe("pod-a")
        assert early.min_workers == 3 and early.ready + early.starting <= 3
        deadline = time.monotonic() + 60
        while (view := pods.describe("pod-a")).ready != 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (view.ready, view.starting, view.max_workers) == (3, 0, 3)
    finally:
        ts.scale(ts.Endpoint(torchserve.urls.management), SLEEPY, before["min_worker"], timeout_s=60)


def test_register_list_and_unregister_a_model(torchserve: RealTorchServe):
    management = ts.Endpoint(torchserve.urls.management)
    ts.register(management, f"{SLEEPY}.mar", initial_workers=1, name="sleepy_copy")
    try:
        assert "sleepy_copy" in ts.list_models(management)
        ts.scale(management, "sleepy_copy", 1, timeout_s=60)  # registered in the background: wait for READY
        with pytest.raises(ApiFailure, match="409"):
            ts.register(management, f"{SLEEPY}.mar", name="sleepy_copy")
    finally:
        ts.unregister(management, "sleepy_copy")
    assert "sleepy_copy" not in ts.list_models(management)


def test_prometheus_answers_the_twins_promql_on_real_torchserve_counters(torchserve: RealTorchServe, scraping):
    infer(torchserve, 20)
    api = PrometheusApi(scraping.url)
    query = f'sum(rate(ts_inference_requests_total{{model_name="{SLEEPY}"}}[30s]))'
    deadline = time.monotonic() + 30
    while not (samples := api.query(query)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(samples) == 1 and samples[0].value > 0
    latency = api.query(f'sum(rate(ts_inference_latency_microseconds{{model_name="{SLEEPY}"}}[30s])) / {query}')
    # the sleepy handler sleeps 50 ms per request; rate() extrapolates each counter on its own (stopping at a young
    # series' zero point), so the ratio of two rates is the mean only within about 10 %
    assert 45.0 <= latency[0].value / 1000 < 150.0
    assert api.query("scalar(vector(3))")[0].value == 3.0
    series = api.query_range("up", start_s=time.time() - 10, end_s=time.time(), step_s=1)
    assert series and series[0][0]["job"] == "torchserve" and all(v == 1.0 for _, v in series[0][1][-3:])


def test_bad_queries_and_a_silent_prometheus_are_unavailable_metrics(scraping):
    with pytest.raises(MetricsUnavailable, match="bad_data"):
        PrometheusApi(scraping.url).query("sum(rate(x[1m])")
    with pytest.raises(MetricsUnavailable, match="expected an instant vector or scalar, got a matrix"):
        PrometheusApi(scraping.url).query("up[1m]")
    with pytest.raises(MetricsUnavailable, match="did not answer"):
        PrometheusApi("http://127.0.0.1:9", timeout_s=1).query("up")
