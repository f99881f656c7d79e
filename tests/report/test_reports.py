"""Reports people look at: `run --report`, `compare`, and the report.html of sweeps and optimiser runs — one
self-contained file each (plotly.js inside, nothing fetched), written atomically, never over someone else's file."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from twin import cli

# Two single-worker CPU pods on one node, 40 req/s: quick, and nothing goes wrong
BASE = """name: small
duration_s: 30
warmup_s: 5
node_pools: [{name: pool, count: 1, vcpus: 8, memory_gib: 32, price_per_hour: 2.0, image_cached: true}]
deployment: {pods: 2, resources: {requests: {cpu: "2", memory: 1Gi}, limits: {memory: 2Gi}},
             torchserve: {model: {min_workers: 1}}}
model: {name: m, device: cpu, cpu_ms: 20, demand_distribution: exponential, worker_rss_mib: 100}
workload: {type: poisson, rate_rps: 40}
"""
PLOTS = re.compile(r"Plotly\.newPlot\(")


def scenario_file(folder: Path, name: str = "small.yaml", **changes) -> Path:
    data = yaml.safe_load(BASE) | changes
    path = folder / name
    path.write_text(yaml.safe_dump(data))
    return path


def self_contained(document: str) -> None:
    assert document.startswith("<!doctype html>") and "servetwin report" in document
    assert "plotly.js v" in document  # the library itself is inside
    assert "<script src=" not in document and "cdn.plot.ly" not in document.split("</script>", 1)[1]


def test_run_report_has_the_tables_warnings_and_the_dashboards_six_figures(tmp_path, capsys):
    path = scenario_file(tmp_path, deployment={"pods": 3, "resources": {"requests": {"cpu": "3"}}})
    report = tmp_path / "out.html"
    assert cli.main(["run", str(path), "--quiet", "--report", str(report)]) == 0
    assert "pending pods" in capsys.readouterr().out  # 3 pods x 3 cpu on 8 vCPUs: one is left Pending
    document = report.read_text()
    self_contained(document)
    assert len(PLOTS.findall(document)) == 6
    for text in ("<th>NAME</th><th>NODE</th><th>STATUS</th>", "Insufficient cpu", "could not be scheduled",
                 "Latency percentiles per second", "Memory against capacity"):
        assert text in document, text
    assert oct(report.stat().st_mode & 0o777) == "0o644"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.html")]  # no temporary file left


def test_a_report_never_replaces_a_file_servetwin_did_not_write(tmp_path, capsys):
    path = scenario_file(tmp_path)
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>")
    assert cli.main(["run", str(path), "--quiet", "--report", str(mine)]) == 2
    assert "--report: expected a new file" in capsys.readouterr().err
    assert mine.read_text() == "<p>my notes</p>"
    own = tmp_path / "report.html"
    assert cli.main(["run", str(path), "--quiet", "--report", str(own)]) == 0
    first = own.stat().st_mtime_ns
    assert cli.main(["run", str(path), "--quiet", "--seed", "3", "--report", str(own)]) == 0  # its own: replaced
    assert own.stat().st_mtime_ns >= first and "seed 3" in own.read_text()


def test_compare_prints_runs_side_by_side_and_reports_bands_and_bars(tmp_path, capsys):
    one = scenario_file(tmp_path, "one-pod.yaml", deployment={"pods": 1, "torchserve": {"model": {"min_workers": 1}}})
    two = scenario_file(tmp_path, "two-pods.yaml")
    report = tmp_path / "compare.html"
    assert cli.main(["compare", str(one), str(two), "--seeds", "2", "--report", str(report)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["METRIC", "one-pod", "two-pods"]
    pods = next(line for line in lines if line.startswith("pods at the end"))
    assert pods.split()[-2:] == ["1", "2"]
    document = report.read_text()
    self_contained(document)
    assert len(PLOTS.findall(document)) == 3 + 4  # p95, throughput, pods bands; four metric bars
    assert "one-pod (2 seeds)" in document and "<th>METRIC</th><th>ONE-POD</th><th>TWO-PODS</th>" in document


def test_compare_needs_two_scenarios(tmp_path, capsys):
    assert cli.main(["compare", str(scenario_file(tmp_path))]) == 2
    assert "two or more scenario files" in capsys.readouterr().err


def test_sweep_writes_heatmaps_with_units_into_its_folder(tmp_path, capsys):
    scenario_file(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"base": "small.yaml", "seed": 1, "replications": 1, "duration_s": 20,
                                     "grid": {"deployment.pods": [1, 2],
                                              "deployment.torchserve.model.min_workers": [1, 2]}}))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(sweep), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert f"report: {out / 'report.html'}" in capsys.readouterr().out
    document = (out / "report.html").read_text()
    self_contained(document)
    assert len(PLOTS.findall(document)) >= 2  # throughput and p95 latency vary with pods x workers
    assert '"colorbar":{"title":{"side":"right","text":"req\\u002fs"}}' in document  # colour bars say their unit
    assert "model.min_workers" in document


def test_optimize_writes_its_pareto_front_into_its_folder(tmp_path):
    scenario_file(tmp_path)
    question = tmp_path / "question.yaml"
    question.write_text(yaml.safe_dump({"base": "small.yaml", "seed": 1, "replications": 1, "duration_s": 20,
                                        "slo": {"latency_p95_ms": 200, "max_error_ratio": 0.01},
                                        "search": {"deployment.pods": [1, 2, 3]}}))
    out = tmp_path / "out"
    assert cli.main(["optimize", str(question), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    document = (out / "report.html").read_text()
    self_contained(document)
    assert "Pareto front" in document and "chosen: deployment.pods" in document
