"""The live adapter's settings file: which cluster, which APIs, which policy, and the guardrails.

    scenario: ../scenarios/default.yaml   # its autoscaling section is the policy; its model and pods the twin
    cluster: {namespace: serving, deployment: roberta, kubeconfig: ~/.kube/config}
    torchserve: {model: roberta, management_port: 8081}
    prometheus: {url: http://prometheus.monitoring:9090}
    guardrails: {namespaces: [serving], objects: [deployment/roberta]}

Relative paths are read from the settings file's folder.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from twin.config.loader import read_yaml, validate
from twin.live.guardrails import Rails


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClusterSettings(Strict):
    namespace: str
    deployment: str
    container: str | None = Field(None, description="the TorchServe container; default: the first")
    kubeconfig: str | None = Field(None, description="default: in-cluster service account")
    context: str | None = None
    node_pool_label: str = "agentpool"
    request_timeout_s: PositiveFloat = 10.0


class TorchServeSettings(Strict):
    model: str
    management: str | None = Field(None, description="one management URL for every pod (a port-forward or a "
                                                     "single-pod test); default: each pod at its own IP")
    management_port: int = 8081
    token_file: str | None = Field(None, description="TorchServe's key_file.json (token authorization)")


class PrometheusSettings(Strict):
    url: str
    timeout_s: PositiveFloat = 10.0


class ShadowSettings(Strict):
    horizon_s: PositiveFloat = Field(60.0, description="how far ahead each prediction runs")
    every_s: PositiveFloat = Field(30.0, description="how often a prediction starts")
    window: str = Field("1m", pattern=r"^[0-9]+(ms|s|m|h)$", description="rate() window of observed traffic")
    score_delay_s: float = Field(10.0, ge=0, description="wait after a horizon ends before scoring it (scrape lag)")


class LiveSettings(Strict):
    scenario: str
    cluster: ClusterSettings
    torchserve: TorchServeSettings
    prometheus: PrometheusSettings
    guardrails: Rails
    shadow: ShadowSettings = ShadowSettings()
    tick_s: PositiveFloat = Field(1.0, description="how often the loop wakes to run the steps that are due")
    stop_file: str = Field("servetwin.stop", description="its appearance halts every write at once")
    journal: str = Field("servetwin-journal.jsonl", description="write-ahead journal, kept across restarts")
    source: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _deployment_allowed(self) -> "LiveSettings":
        if self.cluster.namespace not in self.guardrails.namespaces:
            raise ValueError(f"guardrails.namespaces must include cluster.namespace {self.cluster.namespace!r}")
        return self

    def path(self, relative: str) -> Path:
        """A path from the settings file, resolved from its folder (`~` expanded)."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else Path(self.source).parent / path


def load_settings(path: str | Path) -> LiveSettings:
    data, lines = read_yaml(Path(path))
    settings = validate(LiveSettings, data, source=str(path), lines=lines)
    return settings.model_copy(update={"source": str(path)})
