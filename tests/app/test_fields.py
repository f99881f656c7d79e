"""Widgets derived from the scenario schema, and their values as load_scenario overrides."""
from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from app import fields, overrides
from twin.config import schema
from twin.config.loader import load_scenario
from twin.errors import InputError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DEFAULT = SCENARIOS / "default.yaml"


def _specs(scenario) -> dict[str, fields.FieldSpec]:
    return {spec.path: spec for section in fields.sections(scenario) for spec in section.specs}


def test_a_literal_field_offers_exactly_its_values():
    specs = _specs(load_scenario(DEFAULT))
    mode = specs["node_pools.0.gpus.sharing.mode"]
    assert mode.kind == "choice"
    assert mode.choices == get_args(schema.GpuSharing.model_fields["mode"].annotation)
    assert mode.value == "exclusive"
    assert specs["workload.0.think_distribution"].choices == ("constant", "exponential")


def test_bounds_come_from_the_field_constraints():
    specs = _specs(load_scenario(DEFAULT))
    batch = specs["deployment.torchserve.model.batch_size"]
    assert (batch.kind, batch.minimum, batch.exclusive_minimum, batch.maximum) == ("int", 1, False, 65_536)
    ratio = specs["slo.max_error_ratio"]
    assert (ratio.kind, ratio.minimum, ratio.maximum) == ("float", 0, 1)
    timeout = specs["deployment.torchserve.model.response_timeout_s"]
    assert timeout.exclusive_minimum and timeout.minimum == 0
    assert fields.inclusive_bounds(timeout) == (pytest.approx(1e-6), None)  # a float above 0, never 0


def test_defaults_are_the_resolved_scenario_values():
    scenario = load_scenario(DEFAULT)
    specs = _specs(scenario)
    assert specs["deployment.pods"].value == 5
    assert specs["workload.0.users"].value == 5
    assert specs["deployment.torchserve.model.max_batch_delay_ms"].value == 100
    assert specs["deployment.torchserve.model.max_batch_delay_ms"].label == "max batch delay (ms)"


def test_flags_are_checkboxes_and_unset_optionals_are_left_out():
    keda = load_scenario(SCENARIOS / "keda-burst.yaml")
    specs = _specs(keda)
    assert "deployment.torchserve.model.max_workers" not in specs  # None: "default: min_workers"
    assert specs["autoscaling.keda.hpa_sync_period_s"].kind == "float"
    workers = load_scenario(SCENARIOS / "questions" / "worker-autoscaling-with-resize.yaml")
    assert _specs(workers)["autoscaling.workers.resize_memory"].kind == "flag"


def test_only_changed_values_become_overrides():
    specs = list(_specs(load_scenario(DEFAULT)).values())
    values = {spec.path: spec.value for spec in specs}
    assert fields.changes(specs, values) == {}
    values.update({"deployment.pods": 2.0, "workload.0.users": 9})
    assert fields.changes(specs, values) == {"deployment.pods": 2, "workload.0.users": 9}


def test_changes_through_lists_give_a_scenario_that_validates():
    changes = {"deployment.pods": 7, "workload.0.users": 12, "node_pools.0.gpus.sharing.mode": "time-slicing",
               "node_pools.0.gpus.sharing.replicas": 7, "node_pools.0.count": 2,
               "deployment.torchserve.model.batch_size": 4}
    document = overrides.scenario_document(DEFAULT)
    scenario = load_scenario(DEFAULT, overrides.loader_overrides(document, changes))
    assert scenario.deployment.pods == 7
    assert scenario.workload[0].users == 12  # a single workload mapping is item 0
    assert scenario.node_pools[0].gpus.sharing.mode == "time-slicing"
    assert scenario.node_pools[0].gpus.sharing.replicas == 7
    assert scenario.node_pools[0].count == 2
    assert scenario.deployment.torchserve.model.batch_size == 4
    assert scenario.model == load_scenario(DEFAULT).model  # the profile reference still resolves
    assert document == overrides.scenario_document(DEFAULT)  # the document itself is untouched


def test_an_invalid_change_is_an_input_error_naming_the_field():
    document = overrides.scenario_document(DEFAULT)
    bad = overrides.loader_overrides(document, {"node_pools.0.gpus.sharing.mode": "mig"})
    with pytest.raises(InputError) as error:
        load_scenario(DEFAULT, bad)
    assert "mig_profiles" in str(error.value) and "default.yaml" in str(error.value)


def test_canonical_overrides_do_not_depend_on_order():
    assert overrides.canonical({"a": 1, "b": [1, 2]}) == overrides.canonical({"b": [1, 2], "a": 1})
