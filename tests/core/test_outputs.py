"""Outputs never destroy: every command's --out refuses what it did not write, replaces only its own (with --force),
appears complete or not at all, and a bad --out is one line, exit 2, with nothing touched."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from twin import outputs
from twin.cli import main
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "default.yaml"
TINY = """name: tiny
duration_s: 4
warmup_s: 0
node_pools: [{name: pool, vcpus: 8, memory_gib: 32, price_per_hour: 1.0, image_cached: true}]
deployment: {pods: 1, torchserve: {model: {min_workers: 1}}}
model: {name: m, device: cpu, cpu_ms: 20, demand_distribution: exponential, worker_rss_mib: 100}
workload: {type: poisson, rate_rps: 20}
"""


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` with its bytes (None for a folder): what "nothing touched" compares."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes()) for p in folder.rglob("*")}


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    (folder / "notes").mkdir(parents=True)
    (folder / "thesis.tex").write_text("years of work")
    (folder / "notes" / "ideas.txt").write_text("more")
    return folder


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """Valid inputs for every writing command, so that --out is the only thing wrong."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY)
    (folder / "sweep.yaml").write_text(yaml.safe_dump({"base": "tiny.yaml", "grid": {"deployment.pods": [1, 2]}}))
    (folder / "question.yaml").write_text(yaml.safe_dump({
        "base": "tiny.yaml", "replications": 1, "slo": {"latency_p95_ms": 500},
        "search": {"deployment.pods": [1, 2]}}))
    (folder / "live.yaml").write_text(yaml.safe_dump({
        "scenario": str(DEFAULT), "cluster": {"namespace": "serving", "deployment": "roberta"},
        "torchserve": {"model": "roberta"}, "prometheus": {"url": "http://127.0.0.1:9"},
        "guardrails": {"namespaces": ["serving"], "objects": ["deployment/roberta"]}}))
    (folder / "decisions.jsonl").write_text(json.dumps({"time_s": 0, "controller": "hpa", "action": "scale_deployment",
                                                        "target": "roberta", "value": {"replicas": 2}}) + "\n")
    return {name: folder / name for name in ("tiny.yaml", "sweep.yaml", "question.yaml", "live.yaml",
                                              "decisions.jsonl")}


def commands(inputs: dict[str, Path], out: str) -> dict[str, list[str]]:
    runs = str(ROOT / "calibration" / "data" / "runs.csv")
    return {
        "run": ["run", str(inputs["tiny.yaml"]), "--quiet", "--out", out],
        "predict": ["predict", "--runs", runs, "--out", out],
        "calibrate": ["calibrate", "--runs", runs, "--out", out],
        "check": ["check", "--out", out],
        "sweep": ["sweep", str(inputs["sweep.yaml"]), "--quiet", "--workers", "1", "--out", out],
        "optimize": ["optimize", str(inputs["question.yaml"]), "--quiet", "--workers", "1", "--out", out],
        "observe": ["observe", "--url", "http://127.0.0.1:9", "--management-url", "http://127.0.0.1:9",
                    "--model", "m", "--out", out],
        "live": ["live", str(inputs["live.yaml"]), "--out", out],
        "replay": ["replay", str(inputs["decisions.jsonl"]), "--settings", str(inputs["live.yaml"]), "--out", out],
    }


def unwritable(tmp_path: Path) -> Path:
    """A folder nobody may write into: a read-only one, or (root writes anywhere) /sys, which not even root may."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder / "out" if not os.access(folder, os.W_OK) else Path("/sys/servetwin-out")


BAD = {"a file": lambda tmp: str(tmp / "inputs" / "tiny.yaml"),
       "under a file": lambda tmp: str(tmp / "inputs" / "tiny.yaml" / "out"),
       "unwritable": lambda tmp: str(unwritable(tmp)),
       "the current folder": lambda tmp: ".",
       "empty": lambda tmp: "",
       "a name too long": lambda tmp: str(tmp / "new" / ("x" * 300))}
WHAT = {"a file": "a file", "under a file": "under the file", "unwritable": "not writable",
        "the current folder": "current folder", "empty": "empty path", "a name too long": "at most 255 bytes"}
NAMES = ["run", "predict", "calibrate", "check", "sweep", "optimize", "observe", "live", "replay"]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("command", NAMES)
def test_a_bad_out_is_one_line_exit_2_and_nothing_is_touched(command, bad, inputs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = BAD[bad](tmp_path)
    argv = commands(inputs, out)[command]
    if command == "predict" and bad == "a file":
        argv.remove("--out"), argv.remove(out)
        argv += ["--out", str(tmp_path / "inputs")]  # a file is what predict wants: a folder is what is wrong
    before = tree(tmp_path)
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert "--out" in line and (WHAT[bad] in line or (command == "predict" and "a folder" in line)), line
    assert tree(tmp_path) == before


def test_run_refuses_a_folder_of_someone_elses_files_and_leaves_it_alone(inputs, user_folder, capsys):
    before = tree(user_folder.parent)
    assert main(["run", str(inputs["tiny.yaml"]), "--quiet", "--out", str(user_folder)]) == 2
    assert "servetwin did not write" in one_error_line(capsys)
    assert tree(user_folder.parent) == before
    assert main(["run", str(inputs["tiny.yaml"]), "--quiet", "--force", "--out", str(user_folder)]) == 2
    assert tree(user_folder.parent) == before  # --force never replaces a foreign folder


def test_run_replaces_its_own_folder_only_with_force_and_leaves_nothing_beside(inputs, tmp_path, capsys):
    out = tmp_path / "result"
    args = ["run", str(inputs["tiny.yaml"]), "--quiet", "--out", str(out)]
    assert main([*args, "--seed", "1"]) == 0
    marker = json.loads((out / outputs.MARKER).read_text())
    assert marker["command"] == "run" and {"summary.json", "timeseries.csv", "events.jsonl"} <= set(marker["entries"])
    capsys.readouterr()
    assert main([*args, "--seed", "2"]) == 2
    assert "--force" in one_error_line(capsys)
    assert json.loads((out / "summary.json").read_text())["seed"] == 1
    assert main([*args, "--seed", "2", "--force"]) == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "result"]  # no staging or old copy left


def test_force_refuses_servetwins_folder_once_a_user_added_to_it(inputs, tmp_path, capsys):
    out = tmp_path / "result"
    args = ["run", str(inputs["tiny.yaml"]), "--quiet", "--out", str(out)]
    assert main(args) == 0
    (out / "my-analysis.ipynb").write_text("{}")
    before = tree(tmp_path)
    capsys.readouterr()
    assert main([*args, "--force"]) == 2
    assert "my-analysis.ipynb" in one_error_line(capsys)
    assert tree(tmp_path) == before


def test_a_folder_of_another_command_is_not_replaced(tmp_path, inputs, capsys):
    out = tmp_path / "result"
    assert main(["run", str(inputs["tiny.yaml"]), "--quiet", "--out", str(out)]) == 0
    before = tree(out)
    capsys.readouterr()
    assert main(["sweep", str(inputs["sweep.yaml"]), "--quiet", "--workers", "1", "--out", str(out)]) == 2
    assert "servetwin run" in one_error_line(capsys)
    assert tree(out) == before


def test_an_empty_folder_is_taken(inputs, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(["run", str(inputs["tiny.yaml"]), "--quiet", "--out", str(out)]) == 0
    assert (out / "summary.json").is_file()


def test_sweep_refuses_someone_elses_folder_and_resumes_in_its_own(user_folder, inputs, capsys):
    before = tree(user_folder)
    args = ["sweep", str(inputs["sweep.yaml"]), "--quiet", "--workers", "1"]
    assert main([*args, "--out", str(user_folder)]) == 2
    assert "servetwin did not write" in one_error_line(capsys)
    assert tree(user_folder) == before
    out = user_folder.parent / "sweep"
    assert main([*args, "--out", str(out)]) == 0
    first = (out / "runs" / "00000.json").read_bytes()
    (out / "runs" / "00001.json").unlink()  # as if interrupted before the second run finished
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "runs" / "00000.json").read_bytes() == first and (out / "runs" / "00001.json").is_file()


def test_predict_replaces_an_existing_file_only_with_force(tmp_path, capsys):
    out = tmp_path / "predicted.csv"
    out.write_text("my own table\n")
    runs = tmp_path / "runs.csv"
    lines = (ROOT / "calibration" / "data" / "runs.csv").read_text().splitlines()
    runs.write_text("\n".join(lines[:2]) + "\n")
    args = ["predict", "--runs", str(runs), "--replications", "1", "--out", str(out)]
    assert main(args) == 2
    assert "--force" in one_error_line(capsys)
    assert out.read_text() == "my own table\n"
    assert main([*args, "--force"]) == 0
    assert out.read_text().startswith("id,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predicted.csv", "runs.csv"]
    capsys.readouterr()
    assert main(["predict", "--runs", str(runs), "--force", "--out", str(runs)]) == 2  # not even with --force
    assert "its input file" in one_error_line(capsys) and runs.read_text().count("\n") == 2


# --- the module itself ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_folder_interrupted_while_written_leaves_the_old_one_as_it_was(tmp_path, failure):
    out = tmp_path / "out"
    with outputs.staged_folder(out, command="run") as staging:
        (staging / "a.txt").write_text("first")
    before = tree(tmp_path)
    with pytest.raises(type(failure)):
        with outputs.staged_folder(out, command="run", force=True) as staging:
            (staging / "a.txt").write_text("half")
            raise failure
    assert tree(tmp_path) == before


def test_a_file_interrupted_while_written_is_left_as_it_was(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with outputs.staged_file(path) as staging:
            staging.write_text("ne")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"] and path.read_text() == "old"


def test_a_folder_changed_during_a_long_run_is_checked_again_before_it_is_replaced(tmp_path):
    out = tmp_path / "out"
    with outputs.staged_folder(out, command="run") as staging:
        (staging / "a.txt").write_text("first")
    with pytest.raises(InputError, match="added since"):
        with outputs.staged_folder(out, command="run", force=True) as staging:
            (out / "written-meanwhile.txt").write_text("mine")
            (staging / "a.txt").write_text("second")
    assert (out / "a.txt").read_text() == "first" and (out / "written-meanwhile.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_claimed_folder_resumes_or_with_force_starts_afresh(tmp_path):
    out = outputs.claim(tmp_path / "live", command="live", resume=False)
    (out / "decisions.jsonl").write_text("{}\n")
    outputs.mark(out, command="live")
    with pytest.raises(InputError, match="servetwin live"):
        outputs.claim(out, command="replay")
    with pytest.raises(InputError, match="--force"):
        outputs.claim(out, command="live", resume=False)
    outputs.claim(out, command="live", resume=False, force=True)
    assert sorted(p.name for p in out.iterdir()) == [outputs.MARKER]
    resumed = outputs.claim(tmp_path / "sweep", command="sweep")
    (resumed / "runs").mkdir()
    assert outputs.claim(resumed, command="sweep") == resumed and (resumed / "runs").is_dir()
