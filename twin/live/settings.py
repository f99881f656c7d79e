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
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from twin.config import base, reading, values
from twin.config.loader import validate
from twin.errors import InputError
from twin.live.guardrails import Rails

Url = Annotated[str, AfterValidator(values.http_url)]
Port = Annotated[int, Field(ge=1, le=65535)]
Timeout = Annotated[float, Field(gt=0, le=3600)]


class Strict(base.Strict):
    """Finite numbers, never booleans for numbers, no unknown keys (the scenario schema's rules)."""


class ClusterSettings(Strict):
    namespace: str
    deployment: str
    container: str | None = Field(None, description="the TorchServe container; default: the first")
    kubeconfig: str | None = Field(None, description="default: in-cluster service account")
    context: str | None = None
    node_pool_label: str = "agentpool"
    request_timeout_s: Timeout = 10.0
    metric_queries: dict[str, str] = Field(
        {}, description="PromQL per Pods/Object/External metric of the cluster's HPA, as its metrics adapter serves "
                        "it: the twin evaluates it on its own metrics when shadow or a snapshot runs that HPA")
    placeholders: str | None = Field(None, description="the placeholder Deployment (deploy/placeholders.yaml) whose "
                                     "replicas the scenario's anticipatory policy sets")


class TorchServeSettings(Strict):
    model: str
    management: Url | None = Field(None, description="one management URL for every pod (a port-forward or a "
                                                     "single-pod test); default: each pod at its own IP")
    management_port: Port = 8081
    token_file: str | None = Field(None, description="TorchServe's key_file.json (token authorization)")


class PrometheusSettings(Strict):
    url: Url
    timeout_s: Timeout = 10.0


class ShadowSettings(Strict):
    horizon_s: list[Annotated[float, Field(gt=0, le=base.MAX_DURATION_S)]] = Field(
        [60.0], min_length=1, description="how far ahead each prediction runs: one horizon, or several scored side "
                                          "by side ([10, 60, 300])")
    forecast: list[Literal["holt", "shape", "flat"]] = Field(
        ["holt", "flat"], min_length=1, description="the load over the horizon (twin/live/forecast.py): the first is "
                                                    "the prediction, the others are scored beside it")
    change_threshold: float = Field(0.2, gt=0, description="relative change of the load between a prediction's "
                                                           "window and its horizon that makes it a changing period")
    every_s: base.Duration = Field(30.0, description="how often a prediction starts")
    window: str = Field("1m", pattern=r"^[0-9]+(ms|s|m|h)$", description="rate() window of observed traffic")
    score_delay_s: base.Seconds = Field(10.0, description="wait after a horizon ends before scoring it (scrape lag)")

    @field_validator("horizon_s", mode="before")
    @classmethod
    def _one_or_several(cls, horizon_s):
        return horizon_s if isinstance(horizon_s, list) else [horizon_s]

    @property
    def horizons_s(self) -> tuple[float, ...]:
        return tuple(self.horizon_s)


class LiveSettings(Strict):
    scenario: str
    cluster: ClusterSettings
    torchserve: TorchServeSettings
    prometheus: PrometheusSettings
    guardrails: Rails
    shadow: ShadowSettings = ShadowSettings()
    tick_s: Timeout = Field(1.0, description="how often the loop wakes to run the steps that are due")
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
    data, lines = reading.read_yaml(path)
    settings = validate(LiveSettings, data, source=str(path), lines=lines).model_copy(update={"source": str(path)})
    if settings.cluster.kubeconfig:
        _check_kubeconfig(settings, lines.get(("cluster", "kubeconfig")))
    return settings


def _check_kubeconfig(settings: LiveSettings, line: int | None) -> None:
    """A kubeconfig that is a folder, binary or not a YAML mapping stops here, before any client is built; a missing
    one is the client's to name when it connects (the settings may be checked on another machine)."""
    path = settings.path(settings.cluster.kubeconfig)
    if not path.exists():
        return
    try:
        config, _ = reading.read_yaml(path)
    except InputError as error:
        raise InputError(settings.source, "cluster.kubeconfig", f"a kubeconfig file ({error.expected})",
                         f"{error.got} in {path}", line) from None
    if not isinstance(config, dict) or not isinstance(config.get("clusters", []), list):
        raise InputError(str(path), "", "a kubeconfig (a YAML mapping with clusters, users and contexts)",
                         type(config).__name__)
