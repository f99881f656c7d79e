"""Leave-one-out cross-validation on a small subset of the real runs."""
import dataclasses

import pytest

from calibration.check import format_report, leave_one_out, write_report
from calibration.fit import fit, observations
from calibration.readers import read_runs
from calibration.readings import Constraint, gather
from tests.calibration._real import DATA

SUBSET = ("A10-ROB-GPU-1p1w-u1", "A10-ROB-GPU-1p1w-u5", "A10-ROB-GPU-1p1w-u10")


def _short(run):
    return dataclasses.replace(run, config=dataclasses.replace(run.config, duration_s=40.0))


@pytest.fixture(scope="module")
def subset():
    runs = tuple(_short(r) for r in read_runs(DATA / "runs.csv") if r.config.id in SUBSET)
    obs, _ = observations(runs)
    readings = gather((), runs)
    return obs, readings, fit(obs, readings, rounds=1, seeds=1)


def test_leave_one_out_predicts_each_left_out_run_and_writes_the_table(subset, tmp_path):
    obs, readings, full = subset
    report = leave_one_out(obs, readings, full=full, replications=1, rounds=1, seeds=1)
    assert [f.id for f in report.folds] == list(SUBSET)
    middle = report.folds[1]  # 5 users, predicted from the 1- and 10-user runs alone
    assert abs(middle.throughput_error_pct) < 15 and abs(middle.latency_error_pct) < 15
    assert report.throughput_mape == pytest.approx(sum(abs(f.throughput_error_pct) for f in report.folds) / 3)
    text = format_report(report)
    assert "LOO MAPE" in text and report.worst(1)[0].id in text
    table, summary = write_report(report, tmp_path)
    lines = table.read_text().splitlines()
    assert lines[0].startswith("id,measured_rps,predicted_rps") and len(lines) == 4
    assert summary.read_text() == text + "\n"


def test_folds_on_several_processes_give_the_same_table(subset):
    obs, readings, full = subset
    serial = leave_one_out(obs, readings, full=full, replications=1, rounds=1, seeds=1)
    parallel = leave_one_out(obs, readings, full=full, replications=1, rounds=1, seeds=1, jobs=2)
    assert parallel.folds == serial.folds


def test_a_left_out_run_s_own_readings_never_reach_its_prediction(subset):
    obs, readings, full = subset
    middle = SUBSET[1]
    absurd = Constraint(middle, obs[1].setup.profile_key, "gpu_ms", 1000.0, source_line=0)  # a reading no fit could agree with
    misled = dataclasses.replace(readings, constraints=(*readings.constraints, absurd))
    plain = leave_one_out(obs, readings, full=full, replications=1, rounds=1, seeds=1)
    seen = leave_one_out(obs, misled, full=full, replications=1, rounds=1, seeds=1)
    assert seen.folds[1] == plain.folds[1]  # its fold fits without it
    assert seen.folds[0] != plain.folds[0]  # the other folds keep it, and it moves them
