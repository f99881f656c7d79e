"""The series the twin exports and the queries its autoscalers run on them: `validate` checks every trigger's
selectors against these before a run, and a run's warnings name a trigger that never matched.

Fidelity ledger — upstream: TorchServe 0.12 metrics in prometheus mode (`ts_inference_requests_total{model_name,
model_version, hostname}`: model_name is the name the model is registered under — the key of `models=` in
config.properties, or the `name=` of a `load_models` entry — never a profile's name), Prometheus 2.42 target labels
(`namespace`, `pod`, `job`), cAdvisor (`container`), dcgm-exporter (`Hostname`, `gpu`, `device`).
Modelled: the label names and values the scraper writes (twin.core.scraping). Not modelled: a cluster's own
relabelling; pod names are `<deployment>-<index>`, not a ReplicaSet's `<deployment>-<hash>-<suffix>`, so a
selector on a real pod-name pattern may match here what it would not match there, and the reverse.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from twin.config import properties
from twin.config.schema import MIG_PROFILES, Scenario
from twin.core import scraping
from twin.metrics.promql import query as promql
from twin.metrics.promql import syntax as ast
from twin.metrics.tsdb import METRIC_NAME, LabelMatcher
from twin.policies.hpa import sync as hpa
from twin.policies.keda import scaled_object as keda
from twin.policies.keda.fallback import external_triggers

EXAMPLE_PODS = 64  # pod indices an example series is made for: more than any bundled maxReplicaCount


@dataclass(frozen=True)
class Trigger:
    """A query an autoscaler runs: a KEDA prometheus trigger, or a metric of an HPA's `queries`."""

    controller: str  # "keda" or "hpa"
    name: str  # KEDA's s<i>-prometheus, or the HPA metric's name
    query: str
    threshold: float | None = None  # KEDA's per-replica target
    activation: float | None = None  # KEDA's activationThreshold


@dataclass(frozen=True)
class Miss:
    """A selector of a trigger that selects none of the twin's series, and why."""

    trigger: Trigger
    selector: str
    reason: str
    names_no_model: bool  # the selector's model_name matches no model the twin serves


def served_model_name(scenario: Scenario) -> str:
    """The name TorchServe registers the model under: from the referenced config.properties when it names one,
    else the profile's name."""
    reference = scenario.deployment.torchserve.config_properties
    named = _named_in_properties(Path(reference)) if reference else None
    return named or scenario.model.name


def _named_in_properties(path: Path) -> str | None:
    props = properties.read_properties(path)
    if "models" in props:  # the loader has checked it is JSON naming exactly one model
        return next(iter(json.loads(props["models"][0])))
    entries = [e.strip() for e in props.get("load_models", ("", 0))[0].split(",") if e.strip()]
    if len(entries) != 1 or entries[0] in ("all", "standalone"):
        return None
    name, _, archive = entries[0].rpartition("=")
    return name or Path(archive).stem  # a bare archive registers under its manifest's name, usually its stem


def triggers(scenario: Scenario) -> list[Trigger]:
    """Every PromQL query the scenario's autoscalers run (resource metrics use the twin's own queries)."""
    found = []
    section = scenario.autoscaling.keda
    if section is not None:
        spec = keda.scaledobject_from_manifest(section.manifest.object, section.manifest.source)
        found += [Trigger("keda", t.metric_name, t.query, t.threshold, t.activation_threshold)
                  for t in external_triggers(spec)]
    section = scenario.autoscaling.hpa
    if section is not None:
        spec = hpa.hpa_from_manifest(section.manifest.object, section.manifest.source)
        used = {metric.key.name for metric in spec.metrics}
        found += [Trigger("hpa", name, query) for name, query in section.queries.items() if name in used]
    return found


def exported_series(scenario: Scenario) -> list[dict[str, str]]:
    """Label sets (with __name__) of the series the twin will produce, for example pods and nodes."""
    model = served_model_name(scenario)
    series = []
    for index in range(max(EXAMPLE_PODS, scenario.deployment.pods)):
        pod = f"{scenario.deployment.name}-{index}"
        series += [{METRIC_NAME: name, **scraping.torchserve_labels(pod, model)}
                   for name, _ in scraping.TORCHSERVE_COUNTERS]
        series += [{METRIC_NAME: name, **scraping.kubelet_labels(pod)} for name in scraping.KUBELET_SERIES]
    for node, index, device in _example_gpus(scenario):
        series += [{METRIC_NAME: name, **scraping.dcgm_labels(node, index, device)} for name in scraping.DCGM_SERIES]
    return series


def _example_gpus(scenario: Scenario):
    for pool in scenario.node_pools:
        if pool.gpus is None:
            continue
        slices = pool.gpus.sharing.mig_profiles if pool.gpus.sharing.mode == "mig" else ()
        for number in range(max(pool.count, pool.autoscaling.max_count, 1)):
            node = f"{pool.name}-{number}"
            devices = [f"{node}/gpu{g}/mig{s}-{m}" for g in range(pool.gpus.count) for s, m in enumerate(slices)] \
                if slices else [f"{node}/gpu{g}" for g in range(pool.gpus.count)]
            yield from ((node, index, device) for index, device in enumerate(devices))


def misses(scenario: Scenario) -> list[Miss]:
    """Every selector of every trigger that selects none of the series the twin will produce."""
    series = exported_series(scenario)
    model = served_model_name(scenario)
    found = []
    for trigger in triggers(scenario):
        for selector in selectors(promql.compile(trigger.query).root):
            if not any(_selects(selector.matchers, labels) for labels in series):
                reason, no_model = _why(selector.matchers, series, model)
                found.append(Miss(trigger, _text(selector), reason, no_model))
    return found


def selectors(node) -> list[ast.VectorSelector]:
    """The vector selectors of a parsed query, left to right."""
    if isinstance(node, ast.VectorSelector):
        return [node]
    if isinstance(node, ast.MatrixSelector):
        return [node.selector]
    children = [getattr(node, f.name) for f in dataclasses.fields(node)] if dataclasses.is_dataclass(node) else []
    return [s for child in children for item in (child if isinstance(child, tuple) else (child,))
            for s in selectors(item)]


def _selects(matchers: tuple[LabelMatcher, ...], labels: dict[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


def _why(matchers: tuple[LabelMatcher, ...], series: list[dict[str, str]], model: str) -> tuple[str, bool]:
    """The first matcher that rules out every series of the metric: what it asked, and what the twin has."""
    named = [m for m in matchers if m.name == METRIC_NAME]
    family = [s for s in series if all(m.matches(s[METRIC_NAME]) for m in named)]
    if not family:
        exported = sorted({s[METRIC_NAME] for s in series})
        return f"the twin exports no such metric (it exports {', '.join(exported)})", False
    for matcher in matchers:
        if matcher.name != METRIC_NAME and not any(matcher.matches(s.get(matcher.name, "")) for s in family):
            values = sorted({s.get(matcher.name, "") for s in family})
            if matcher.name == "model_name":
                return (f'model_name{matcher.op}"{matcher.value}" names no model the twin serves: it serves '
                        f'"{model}" (the name in config.properties models= or load_models, else the profile\'s '
                        f"name: set one of them to the name you register)"), True
            shown = ", ".join(f'"{v}"' for v in values[:3]) + (", …" if len(values) > 3 else "")
            return f'{matcher.name}{matcher.op}"{matcher.value}" matches none of its values ({shown})', False
    return "no series matches all its matchers together", False


def _text(selector: ast.VectorSelector) -> str:
    name = next((m.value for m in selector.matchers if m.name == METRIC_NAME and m.op == "="), "")
    rest = [f'{m.name}{m.op}"{m.value}"' for m in selector.matchers if not (m.name == METRIC_NAME and m.op == "=")]
    return name + ("{" + ",".join(rest) + "}" if rest else "")
