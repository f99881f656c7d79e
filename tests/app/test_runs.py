"""Runs for the dashboard: the twin's result, cached per (resolved scenario, seed); saved variants stay as saved."""
from __future__ import annotations

from pathlib import Path

from app import overrides, runs, tables
from calibration.predict import Prediction
from calibration.readers import read_runs
from twin.core.run import simulate

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "default.yaml"


def _setup(**changes) -> runs.Setup:
    document = overrides.scenario_document(DEFAULT)
    return runs.Setup("test", str(DEFAULT), overrides.loader_overrides(document, changes))


def test_a_run_is_the_twins_result_for_that_seed():
    scenario = _setup(duration_s=20, warmup_s=2, **{"deployment.pods": 2}).scenario()
    output = runs.run(scenario, seed=3)
    expected = simulate(scenario, seed=3)
    assert output.summary == expected.summary.to_dict()
    assert output.timeseries.equals(expected.timeseries)
    assert output.scenario["deployment"]["pods"] == 2
    assert runs.run(scenario, seed=3).summary == output.summary  # from the cache, the same answer
    assert runs.run(scenario, seed=4).summary != output.summary


def test_seeds_give_one_run_each():
    scenario = _setup(duration_s=15, warmup_s=1).scenario()
    outputs = runs.run_seeds(scenario, [1, 2], "test")
    assert [o.summary["seed"] for o in outputs] == [1, 2]


def test_loading_a_setup_leaves_its_overrides_as_saved():
    setup = _setup(**{"workload.0.users": 7})
    saved = overrides.canonical(setup.overrides)
    assert setup.scenario().workload[0].users == 7
    assert overrides.canonical(setup.overrides) == saved


def test_calibration_table_pairs_measured_and_predicted_runs():
    measured = read_runs(ROOT / "calibration" / "data" / "runs.csv")
    first = measured[0].config.id
    rows = [Prediction(id=first, throughput_rps=12.0, avg_response_ms=80.0),
            Prediction(id="not-a-run", throughput_rps=1.0, avg_response_ms=1.0),
            Prediction(id=measured[1].config.id, note="not predicted")]
    table = tables.calibration_table(list(measured), rows)
    assert list(table["id"]) == [first]
    result = measured[0].result
    assert table["measured_rps"].iloc[0] == result.throughput_rps
    assert table["throughput_error_pct"].iloc[0] == 100 * (12.0 / result.throughput_rps - 1)
