"""The calibrate / predict / check commands as the servetwin parser registers them."""
import argparse
import csv

from calibration.cli import add_commands
from calibration.mapping import ASSUMPTIONS
from calibration.profiles import load_profiles
from tests.calibration._real import DATA


def _parser():
    parser = argparse.ArgumentParser(prog="servetwin")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(*argv) -> int:
    args = _parser().parse_args(list(argv))
    return args.command(args)


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _write_runs(path, ids, *, duration="20"):
    with open(DATA / "runs.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if r["id"] in ids]
        fields = reader.fieldnames
    for row in rows:
        row["duration_s"] = duration
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_commands_are_registered_and_predict_help_lists_the_assumptions():
    parser = _parser()
    for command in ("calibrate", "predict", "check"):
        assert callable(parser.parse_args([command, "--runs", "x", "--out", "y"]).command)
    help_text = parser._subparsers._group_actions[0].choices["predict"].format_help()
    assert "ramp_s blank -> 10 s" in help_text and len(ASSUMPTIONS) >= 5


def test_predict_writes_the_table_and_explains_an_unmappable_row(tmp_path, capsys):
    runs = tmp_path / "in.csv"
    _write_runs(runs, {"A10-ROB-GPU-1p1w-u1", "LOCAL-ROB-GPU-u15"})
    out = tmp_path / "out.csv"
    assert _run("predict", "--runs", str(runs), "--out", str(out), "--seed", "3", "--replications", "1") == 0
    rows = {r["id"]: r for r in _rows(out)}
    assert list(_rows(out)[0])[:5] == ["id", "throughput_rps", "avg_response_ms", "p95_response_ms", "error_pct"]
    assert 9 < float(rows["A10-ROB-GPU-1p1w-u1"]["throughput_rps"]) < 13  # measured 11 req/s
    assert rows["LOCAL-ROB-GPU-u15"]["throughput_rps"] == ""
    assert "LOCAL-ROB-GPU-u15" in capsys.readouterr().err


def test_calibrate_writes_loadable_profiles(tmp_path):
    runs = tmp_path / "runs.csv"
    _write_runs(runs, {"A10-ROB-GPU-1p1w-u1", "A10-ROB-GPU-1p1w-u10"})
    assert _run("calibrate", "--runs", str(runs), "--out", str(tmp_path / "profiles")) == 0
    profiles = load_profiles(tmp_path / "profiles")
    assert len(profiles) == 6
    rob = profiles[("roberta-base-go_emotions", "a10-4q")]
    assert 70 < rob.cpu_ms + rob.gpu_ms + rob.frontend_ms < 110  # 90 ms at one user


def test_bad_input_is_a_message_not_a_traceback(tmp_path, capsys):
    assert _run("predict", "--runs", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.csv")) == 2
    assert "error:" in capsys.readouterr().err


def test_a_poor_fit_is_named_with_the_runs_it_misses_and_what_to_do(tmp_path, capsys):
    """One worker of an own model on 2 vCPUs served 10 req/s to one user and 2 to two (a neighbour took the cores
    in between): no profile makes both, and calibrate says so, and which fields no run identified."""
    columns = ("id", "cloud_vm", "gpu_model", "gpu_partition", "node_vcpus", "node_ram_gb", "model", "device", "pods",
               "workers_per_pod", "users", "ramp_s", "duration_s", "batch_size", "max_batch_delay_ms",
               "throughput_rps", "avg_response_ms", "server_cpu_pct", "background_threads")
    rows = [("busy-u1", 10.0, 100.0, 150.0), ("busy-u2", 2.0, 1000.0, 150.0)]
    path = tmp_path / "runs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for run_id, rps, ms, cpu in rows:
            users = run_id[-1]
            writer.writerow((run_id, "vm", "", "", 2, 8, "acme/enc", "cpu", 1, 1, users, 0, 20, 1, 0, rps, ms, cpu,
                             1.0))
    assert _run("calibrate", "--runs", str(path), "--out", str(tmp_path / "profiles"), "--quiet") == 0
    out, err = capsys.readouterr()
    assert "warning: poor fit" in err and "busy-u" in err and "1.0 other threads" in err
    assert "observe --duration" in err and "calibrate again" in err
    assert "assumed for enc on cpu" in out and "cpu_oversubscription_penalty ~1" in out
    assert "fields of enc-cpu at assumed values:" in out and "worker_rss_mib " in out  # memory nobody read
