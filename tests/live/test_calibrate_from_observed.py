"""observe → calibrate → predict through the servetwin command line, against the suite's real TorchServe.

The `sleepy` handler sleeps 50 ms per request, so the truth is known without trusting the machine's speed: a
profile calibrated from one worker's runs (1, 2 and 4 users) must predict two workers under 2 and 4 users, which
the calibration never saw. Tolerances are wide (25 %) because these shared CI machines are noisy.
"""

import csv
import os
from pathlib import Path

import pytest
import yaml

from calibration.profiles import BUNDLED
from calibration.readers import read_runs
from tests.support.tables import subset
from tests.support.torchserve import SLEEPY, RealTorchServe
from twin.cli import main

SLEEP_MS = 50.0
CALIBRATION_IDS = {f"OBS-{SLEEPY}-w1-u{users}" for users in (1, 2, 4)}
HELD_OUT_IDS = {f"OBS-{SLEEPY}-w2-u{users}" for users in (2, 4)}



@pytest.fixture(scope="module")
def loop(torchserve: RealTorchServe, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("loop")
    assert main(["observe", "--url", torchserve.urls.inference, "--management-url", torchserve.urls.management,
                 "--metrics-url", torchserve.urls.metrics, "--model", SLEEPY, "--workers", "1,2", "--users", "1,2,4",
                 "--duration", "3", "--pause", "0", "--device", "cpu", "--node-vcpus", str(os.cpu_count() or 2),
                 "--node-ram-gb", "8", "--cloud-vm", "loopback", "--out", str(work / "observed")]) == 0
    observed = work / "observed" / "runs.csv"
    calibration = subset(observed, CALIBRATION_IDS, work / "calibration.csv")
    held_out = subset(observed, HELD_OUT_IDS, work / "held-out.csv")
    assert main(["calibrate", "--runs", str(calibration), "--out", str(work / "profiles")]) == 0
    assert main(["predict", "--runs", str(held_out), "--profiles", str(BUNDLED), str(work / "profiles"),
                 "--out", str(work / "predicted.csv"), "--replications", "2"]) == 0
    return work


def test_the_profile_is_the_handler_it_was_calibrated_from(loop: Path) -> None:
    (path,) = (loop / "profiles").glob("*.yaml")
    document = yaml.safe_load(path.read_text())
    profile, provenance = document["profile"], document["provenance"]
    assert (provenance["model"], provenance["accelerator"], profile["device"]) == (SLEEPY, "cpu", "cpu")
    assert 0.9 * SLEEP_MS < profile["cpu_ms"] < 1.4 * SLEEP_MS  # the sleep plus the worker's own overhead
    assert profile["frontend_ms"] < 0.4 * SLEEP_MS
    assert set(provenance["fit_quality"]["runs_of_this_profile"]) == CALIBRATION_IDS
    assert provenance["sources"][0]["file"] == "calibration.csv" and len(provenance["sources"][0]["sha256"]) == 64


def test_the_second_worker_s_load_time_is_measured_and_becomes_the_profile_s(loop: Path) -> None:
    runs = {run.config.id: run.result for run in read_runs(loop / "observed" / "runs.csv")}
    measured = {run_id: result.worker_load_s for run_id, result in runs.items() if result.worker_load_s is not None}
    assert list(measured) == [f"OBS-{SLEEPY}-w2-u1"]  # 1 worker was already there; 1 -> 2 loaded one more
    assert 0.1 < measured[f"OBS-{SLEEPY}-w2-u1"] < 60
    # the calibration rows (one worker) hold no load time: refit with the scale-up row to carry it into the profile
    everything = loop / "observed" / "runs.csv"
    assert main(["calibrate", "--runs", str(everything), "--out", str(loop / "all-profiles")]) == 0
    (path,) = (loop / "all-profiles").glob("*.yaml")
    document = yaml.safe_load(path.read_text())
    assert document["profile"]["load_time_s"] == pytest.approx(measured[f"OBS-{SLEEPY}-w2-u1"], rel=1e-3)
    assert "load_time_s" in document["provenance"]["memory"][0]


def test_the_profile_predicts_a_worker_count_it_never_saw(loop: Path) -> None:
    measured = {run.config.id: run.result for run in read_runs(loop / "observed" / "runs.csv")}
    with (loop / "predicted.csv").open(newline="") as handle:
        predicted = {row["id"]: row for row in csv.DictReader(handle)}
    assert set(predicted) == HELD_OUT_IDS
    for run_id, row in predicted.items():
        assert float(row["throughput_rps"]) == pytest.approx(measured[run_id].throughput_rps, rel=0.25), run_id
        assert float(row["avg_response_ms"]) == pytest.approx(measured[run_id].avg_response_ms, rel=0.25), run_id
        assert float(row["p95_response_ms"]) == pytest.approx(measured[run_id].p95_response_ms, rel=0.25), run_id
    # the second worker doubles what one worker could serve: the prediction must not be the calibration's ceiling
    one_worker_ceiling = 1000 / SLEEP_MS
    assert float(predicted[f"OBS-{SLEEPY}-w2-u4"]["throughput_rps"]) > 1.5 * one_worker_ceiling
