"""What the live end-to-end tests share: Prometheus scraping a real TorchServe as one pod, a kubeconfig for KMock."""
from __future__ import annotations

import time

import yaml

from tests.support.torchserve import RealTorchServe
from twin.live.prometheus_api import PrometheusApi


def scrape_config(server: RealTorchServe, *, pod: str, namespace: str) -> str:
    """Prometheus scraping TorchServe's metrics every second, labelled as the pod it stands for."""
    target = server.urls.metrics.removeprefix("http://")
    return ("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: torchserve\n"
            f"    static_configs: [{{targets: ['{target}'], labels: {{pod: {pod}, namespace: {namespace}}}}}]\n")


def await_first_scrape(url: str) -> None:
    api, deadline = PrometheusApi(url), time.monotonic() + 30
    while not api.query("up == 1") and time.monotonic() < deadline:
        time.sleep(0.2)


def kubeconfig(url: str, *, namespace: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": url}}],
        "users": [{"name": "tester", "user": {"token": "not-checked"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "tester", "namespace": namespace}}]})
