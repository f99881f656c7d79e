"""Calibration tables (runs.csv, resources.csv), profile folders, and JMeter JTL files.

The tables go through `servetwin calibrate | predict`; a JTL has no command of its own (the dashboard and observe
read it), so its reader is held to the same contract: one InputError naming file, line and column.
"""
from __future__ import annotations

import csv
import io

import pytest

from calibration.readers import read_jtl, read_resources
from tests.bad_input.support import ROOT, refused, write
from twin.errors import InputError

RUNS = (ROOT / "calibration" / "data" / "runs.csv").read_text(encoding="utf-8")
HEADER, FIRST = RUNS.splitlines()[:2]
RESOURCES_HEADER = (ROOT / "calibration" / "data" / "resources.csv").read_text(encoding="utf-8").splitlines()[0]


def with_cell(column: str, value: str) -> str:
    header = next(csv.reader([HEADER]))
    row = next(csv.reader([FIRST]))
    row[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, row])
    return out.getvalue()


# (id, runs.csv content, what the line must name)
RUNS_CASES = [
    ("header-only", HEADER + "\n", ("runs.csv", "data row")),
    ("latin-1", (HEADER + "\n" + FIRST.replace("A100-DETR", "A100-D\xe9TR") + "\n").encode("latin-1"),
     ("runs.csv:2", "UTF-8")),
    ("utf-16", RUNS.encode("utf-16"), ("runs.csv", "UTF-16")),
    ("binary", b"\x00\x01\x02\x03", ("runs.csv", "binary")),
    ("empty", "", ("runs.csv", "empty file")),
    ("users-millions", with_cell("users", "5000000"), ("runs.csv:2", "users")),
    ("pods-above-int32", with_cell("pods", "2147483648"), ("runs.csv:2", "pods")),
    ("duration-inf", with_cell("duration_s", "inf"), ("runs.csv:2", "duration_s")),
    ("workers-negative", with_cell("workers_per_pod", "-1"), ("runs.csv:2", "workers_per_pod")),
    ("duplicate-id", HEADER + "\n" + FIRST + "\n" + FIRST + "\n", ("runs.csv:3", "id")),
]


@pytest.mark.parametrize("content, names", [c[1:] for c in RUNS_CASES], ids=[c[0] for c in RUNS_CASES])
def test_a_bad_runs_table_is_refused_by_predict(tmp_path, capsys, content, names):
    write(tmp_path, "runs.csv", content)
    refused(tmp_path, ["predict", "--runs", "runs.csv", "--out", "out.csv", "--replications", "1"], capsys,
            names=names)


def test_a_runs_table_that_is_a_folder_or_missing_is_named(tmp_path, capsys):
    (tmp_path / "runs.csv").mkdir()
    refused(tmp_path, ["calibrate", "--runs", "runs.csv", "--out", "profiles"], capsys, names=("runs.csv", "directory"))
    refused(tmp_path, ["calibrate", "--runs", "nope.csv", "--out", "profiles"], capsys, names=("nope.csv", "no such"))


def test_a_resources_table_with_a_header_only_is_refused(tmp_path, capsys):
    write(tmp_path, "runs.csv", RUNS)
    write(tmp_path, "resources.csv", RESOURCES_HEADER + "\n")
    refused(tmp_path, ["calibrate", "--runs", "runs.csv", "--resources", "resources.csv", "--out", "profiles"],
            capsys, names=("resources.csv", "data row"))


@pytest.mark.parametrize("make, got", [
    (lambda folder: "missing-folder", "no such folder"),
    (lambda folder: write(folder, "a-file.yaml", "profile: {}\n").name, "a file"),
    (lambda folder: (folder / "empty").mkdir() or "empty", "none"),
    (lambda folder: write(folder, "bad/p.yaml", "provenance: {model: m, accelerator: a}\nprofile: {cpu_ms: .inf}\n"
                          ).parent.name, "cpu_ms"),
])
def test_predict_profiles_that_are_not_a_folder_of_profiles_are_refused(tmp_path, capsys, make, got):
    write(tmp_path, "runs.csv", RUNS)
    folder = make(tmp_path)
    refused(tmp_path, ["predict", "--runs", "runs.csv", "--out", "out.csv", "--profiles", folder], capsys,
            names=(folder, got))


JTL = "timeStamp,elapsed,label,success\n1692306000000,5,infer,true\n"
JTL_CASES = [
    ("header-only", "timeStamp,elapsed,label,success\n", None, "data row"),
    ("utf-16", JTL.encode("utf-16"), None, "UTF-16"),
    ("latin-1", JTL.replace("infer", "inf\xe9r").encode("latin-1"), 2, "UTF-8"),
    ("binary", b"PK\x03\x04\x00\x00", 1, "binary"),
    ("elapsed-inf", JTL.replace(",5,", ",inf,"), 2, "elapsed"),
    ("success-not-bool", JTL.replace(",true", ",yes"), 2, "success"),
]


@pytest.mark.parametrize("content, line, named", [c[1:] for c in JTL_CASES], ids=[c[0] for c in JTL_CASES])
def test_a_bad_jtl_is_one_input_error_naming_file_and_line(tmp_path, content, line, named):
    path = write(tmp_path, "results.jtl", content)
    with pytest.raises(InputError) as caught:
        read_jtl(path)
    message = str(caught.value)
    assert caught.value.line == line and named in message and "\n" not in message
    assert message.startswith(str(path))


def test_the_good_tables_read(tmp_path):
    assert read_jtl(write(tmp_path, "results.jtl", JTL))[0].elapsed_ms == 5
    assert read_resources(ROOT / "calibration" / "data" / "resources.csv")
