"""The autoscaler sections of a scenario, checked with the controllers' own parsers and the rules their admission
paths apply, so that a wrong one stops the run before anything is built.

Rules ported: KEDA's ScaledObject admission webhook (kedacore/keda v2.20 `apis/keda/v1alpha1/
scaledobject_webhook.go`, `verifyHpas`) refuses a ScaledObject whose workload an HPA not owned by KEDA already
scales; an HPA or ScaledObject scales the scenario's Deployment, named as its scaleTargetRef (the twin has one
Deployment: a reference to another would scale nothing here, silently). PromQL in a trigger or an HPA query is
parsed at load, as Prometheus parses it on the first poll; a trigger's threshold is above 0, as the target of the
HPA that KEDA generates must be. TorchServe refuses max_worker below min_worker.
"""
from __future__ import annotations

import math
from typing import Any

from twin.config import manifests, values
from twin.config.reading import Lines
from twin.config.schema import Scenario
from twin.errors import InputError
from twin.metrics.promql import lex, parse
from twin.policies import anticipatory, workers
from twin.policies.cluster_autoscaler import loop as cluster_autoscaler
from twin.policies.hpa import sync as hpa
from twin.policies.keda import scaled_object as keda
from twin.policies.vpa import aggregate as vpa_aggregate
from twin.policies.vpa import estimator as vpa_estimator
from twin.policies.vpa import manifest as vpa
from twin.policies.vpa import updater as vpa_updater

SIGNED = ("expendable_pods_priority_cutoff",)  # a pod priority: negative is the usual value (-10)


def check(scenario: Scenario, source: str, lines: Lines) -> None:
    autoscaling = scenario.autoscaling
    targets = []
    if autoscaling.hpa is not None:
        manifest = autoscaling.hpa.manifest
        spec = hpa.hpa_from_manifest(manifest.object, manifest.source)
        targets.append(("hpa", manifest.source, spec.scale_target.kind, spec.scale_target.name))
        for name, query in autoscaling.hpa.queries.items():
            _promql(query, source, f"autoscaling.hpa.queries.{name}", lines.get(("autoscaling", "hpa", "queries",
                                                                                 name)))
    if autoscaling.keda is not None:
        manifest = autoscaling.keda.manifest
        spec = keda.scaledobject_from_manifest(manifest.object, manifest.source)
        targets.append(("keda", manifest.source, spec.scale_target_ref.kind, spec.scale_target_ref.name))
        for index, trigger in enumerate(spec.triggers):
            _check_trigger(trigger, manifest.source, f"spec.triggers.{index}.metadata")
    _check_targets(targets, scenario.deployment.name, source, lines)
    if autoscaling.vpa is not None:
        _check_vpa(autoscaling.vpa, scenario.deployment.name, source)
    _check_policies(scenario, source)


def _check_vpa(section, deployment: str, source: str) -> None:
    """The manifest by its own parser, its targetRef the scenario's Deployment, the flags by their dataclasses."""
    manifest = section.manifest
    spec = vpa.vpa_from_manifest(manifest.object, manifest.source)
    if spec.target_kind != "Deployment" or spec.target_name != deployment:
        raise InputError(manifest.source, "spec.targetRef", f"the scenario's Deployment {deployment!r}",
                         f"{spec.target_kind} {spec.target_name!r}")
    for name, schema in (("recommender", vpa_estimator.RecommenderConfig),
                         ("aggregation", vpa_aggregate.AggregationConfig), ("updater", vpa_updater.UpdaterConfig)):
        _check_fields(source, f"autoscaling.vpa.{name}", schema, getattr(section, name))


def _check_targets(targets: list[tuple[str, str, str, str]], deployment: str, source: str, lines: Lines) -> None:
    for kind, where, target_kind, name in targets:
        if target_kind != "Deployment" or name != deployment:
            raise InputError(where, "spec.scaleTargetRef", f"the scenario's Deployment {deployment!r}",
                             f"{target_kind} {name!r}")
    if len(targets) == 2:
        raise InputError(source, "autoscaling", "an HPA or a KEDA ScaledObject on a Deployment, not both (KEDA's "
                         "webhook refuses a ScaledObject whose workload an HPA already scales)",
                         f"both on Deployment {deployment!r}", lines.get(("autoscaling",)))


def _check_trigger(trigger: Any, source: str, field: str) -> None:
    address = getattr(trigger, "server_address", None)
    if address is not None:
        try:
            values.http_url(address)
        except ValueError:  # the prometheus scaler's HTTP client takes nothing else
            raise InputError(source, f"{field}.serverAddress", "an http(s) URL with a port from 1 to 65535",
                             repr(address)) from None
    if getattr(trigger, "query", None):
        _promql(trigger.query, source, f"{field}.query", None)
    threshold = getattr(trigger, "threshold", None)
    if threshold is not None and not 0 < threshold < math.inf:
        raise InputError(source, f"{field}.threshold", "a finite threshold above 0 (the HPA that KEDA generates "
                         "needs a positive target; the API server refuses it otherwise)", repr(threshold))


def _promql(query: str, source: str, field: str, line: int | None) -> None:
    try:
        parse.parse(query)
    except lex.PromQLSyntaxError as error:
        raise InputError(source, field, f"a PromQL query ({error.expected})", f"{error.got} in {query!r}",
                         line) from None


def _check_policies(scenario: Scenario, source: str) -> None:
    autoscaling = scenario.autoscaling
    if autoscaling.workers is not None:
        policy = autoscaling.workers.policy
        _check_fields(source, "autoscaling.workers.policy", workers.WorkerPolicy, policy)
        built = workers.WorkerPolicy(**policy)
        if built.max_workers < built.min_workers:
            raise InputError(source, "autoscaling.workers.policy.max_workers", f"at least min_workers "
                             f"({built.min_workers}): max_worker cannot be less than min_worker", str(built.max_workers))
    if autoscaling.cluster is None:
        return
    _check_fields(source, "autoscaling.cluster.settings", cluster_autoscaler.CASettings,
                  autoscaling.cluster.settings, strings=("expander",))
    try:
        cluster_autoscaler.CASettings(**autoscaling.cluster.settings)
    except ValueError as error:
        raise InputError(source, "autoscaling.cluster.settings", "valid Cluster Autoscaler settings",
                         str(error)) from None
    if autoscaling.cluster.placeholders is not None:
        placeholders(scenario)
    if autoscaling.cluster.anticipatory is not None:
        _check_fields(source, "autoscaling.cluster.anticipatory", anticipatory.Anticipation,
                      autoscaling.cluster.anticipatory, strings=("group",))
        group = autoscaling.cluster.anticipatory.get("group")
        if group not in [p.name for p in scenario.node_pools]:
            raise InputError(source, "autoscaling.cluster.anticipatory.group", "the name of a node pool",
                             repr(group))
        if autoscaling.cluster.placeholders is None:
            raise InputError(source, "autoscaling.cluster.placeholders", "placeholder pods for the anticipatory "
                             "policy to scale (a PriorityClass and a Deployment of pause pods)", "none")


def placeholders(scenario: Scenario) -> manifests.PlaceholderPods | None:
    """The scenario's placeholder pods, read from their manifests (None when it has none)."""
    cluster = scenario.autoscaling.cluster
    section = cluster.placeholders if cluster is not None else None
    if section is None:
        return None
    return manifests.placeholder_pods(section.priority_class.object, section.priority_class.source,
                                      section.deployment.object, section.deployment.source,
                                      [p.name for p in scenario.node_pools])


def _check_fields(source: str, prefix: str, schema: type, values: dict, strings: tuple[str, ...] = ()) -> None:
    """Fields given for a policy dataclass: known names; finite numbers, not negative (whole where the field is an
    int; above zero for an interval or period, which would otherwise stop the clock), or the named string fields."""
    known = schema.__dataclass_fields__
    for name, value in values.items():
        if name not in known:
            raise InputError(source, f"{prefix}.{name}", f"one of {sorted(known)}", repr(name))
        if name in strings:
            if not isinstance(value, str):
                raise InputError(source, f"{prefix}.{name}", "a name", repr(value))
            continue
        expected = _number_rule(name, known[name].type)
        if not _number_ok(value, name, known[name].type):
            raise InputError(source, f"{prefix}.{name}", expected, repr(value))


def _number_rule(name: str, kind: Any) -> str:
    what = "a whole number" if kind in (int, "int") else "a finite number"
    if name in SIGNED:
        return what
    return f"{what} {'above 0' if _is_period(name) else '>= 0'}"


def _number_ok(value: Any, name: str, kind: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if kind in (int, "int") and not float(value).is_integer():
        return False
    if name in SIGNED:
        return True
    return value > 0 if _is_period(name) else value >= 0


def _is_period(name: str) -> bool:
    return name.endswith(("interval_s", "period_s", "half_life_s"))
