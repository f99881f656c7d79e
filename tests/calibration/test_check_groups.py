"""The grouped protocol: families from the runs' columns, left out whole, refitted from scratch; coverage."""
import dataclasses

import pytest

from calibration.check import Fold, Report, families, format_report, format_side_by_side, grouped, write_report
from calibration.fit import observations
from calibration.readers import read_runs
from calibration.readings import Constraint, gather
from tests.calibration._real import DATA

SUBSET = ("A10-ROB-GPU-1p1w-u1", "A10-ROB-GPU-1p1w-u5", "A10-ROB-GPU-1p1w-u10")


def _all_observations():
    obs, _ = observations(read_runs(DATA / "runs.csv"))
    return obs


def test_families_come_from_the_columns_of_the_study_s_runs():
    found = {f.name: set(f.ids) for f in families(_all_observations())}
    assert found["roberta-base-go_emotions on a10-4q above 1 user(s)"] == {
        "A10-ROB-GPU-1p1w-u2", "A10-ROB-GPU-1p1w-u3", "A10-ROB-GPU-1p1w-u4", "A10-ROB-GPU-1p1w-u5",
        "A10-ROB-GPU-1p1w-u10", "A10-ROB-GPUSHARE-u5"}
    assert found["detr-resnet-50 on a100-80gb above 1 user(s)"] == {"A100-DETR-1p1w-u5"}
    # pods x workers > 1: the time-sliced run's 2 assumed pods and DETR-on-CPU's 6 default workers count too
    assert found["roberta-base-go_emotions with several workers on the node"] == {
        "A100-ROB-5p5w-u5", "A100-ROB-25p1w-u5", "A100-ROB-40p1w-u5", "A10-ROB-GPUSHARE-u5", "A10-ROB-CPU-5p1w-u5"}
    assert found["detr-resnet-50 with several workers on the node"] == {"A10-DETR-CPU-u1"}
    assert found["every run on cpu"] == {"A10-ROB-CPU-1p1w-u5", "A10-ROB-CPU-5p1w-u5", "A10-DETR-CPU-u1"}
    assert len(found["every run on a100-80gb"]) == 5 and len(found["every run on a10-4q"]) == 8
    # roberta on the A100 ran only at 5 users: no family above its lowest concurrency
    assert not any(name.startswith("roberta-base-go_emotions on a100-80gb") for name in found)


def test_a_family_of_every_run_or_a_repeated_family_is_dropped():
    obs = [o for o in _all_observations() if o.id in SUBSET]
    names = [f.name for f in families(obs)]
    # 'every run on a10-4q' would leave nothing to fit; the multi-worker family is empty
    assert names == ["roberta-base-go_emotions on a10-4q above 1 user(s)"]


@pytest.fixture(scope="module")
def subset():
    runs = tuple(dataclasses.replace(r, config=dataclasses.replace(r.config, duration_s=40.0))
                 for r in read_runs(DATA / "runs.csv") if r.config.id in SUBSET)
    return runs


def _grouped(runs, constraints=()):
    obs, _ = observations(runs)
    readings = dataclasses.replace(gather((), runs), constraints=constraints)
    return grouped(obs, readings, replications=1, rounds=1, seeds=1, draws=0)


def test_nothing_of_a_left_out_family_reaches_its_predictions(subset):
    report = _grouped(subset)
    assert [f.id for f in report.folds] == list(SUBSET[1:])  # fitted on the 1-user run alone
    assert {f.family for f in report.folds} == {"roberta-base-go_emotions on a10-4q above 1 user(s)"}
    # change what the held-out 10-user run measured and what its readings say: the predictions must not move
    changed = tuple(dataclasses.replace(r, result=dataclasses.replace(r.result, throughput_rps=80.0))
                    if r.config.id == SUBSET[2] else r for r in subset)
    reading = Constraint(SUBSET[2], ("roberta-base-go_emotions", "a10-4q"), "gpu_ms", 2.0, 1)
    again = _grouped(changed, (reading,))
    assert [(f.predicted_rps, f.predicted_ms) for f in again.folds] == [
        (f.predicted_rps, f.predicted_ms) for f in report.folds]
    assert again.folds[1].measured_rps == 80.0


def _fold(run_id, measured, low, high, family=""):
    return Fold(run_id, measured, 10.0, 100.0, 100.0, low, high, 50.0, 200.0, family)


def test_coverage_is_the_share_of_measurements_inside_their_interval(tmp_path):
    folds = (_fold("a", 10.0, 8.0, 12.0, "f"), _fold("b", 13.0, 8.0, 12.0, "f"), _fold("c", 9.0, 8.5, 9.5, "f"),
             Fold("d", 10.0, 10.0, 100.0, 100.0))  # no interval: not counted
    report = Report(folds, 1.0, protocol="grouped")
    assert report.coverage == (pytest.approx(2 / 3), 1.0)
    text = format_report(report)
    assert "left out together: f" in text and "coverage: throughput 67 %, latency 100 %" in text
    assert "8.0-12.0!" in text  # a measurement outside its interval is marked
    table, summary = write_report(report, tmp_path)
    assert table.name == "grouped.csv" and summary.read_text() == text + "\n"
    side = format_side_by_side([Report(folds[:1], 1.0), report]).splitlines()
    assert side[1].split()[:2] == ["LOO", "1"] and side[2].split()[-4:] == ["67", "%", "100", "%"]
