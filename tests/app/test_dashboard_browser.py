"""The dashboard in a real headless browser: `streamlit run app/dashboard.py` driven by Debian's Chromium.

Change pods in the sidebar, press Run, wait for the plots, and check the page shows the new pod count; then upload
a manifest of the wrong kind and check the page shows the InputError's line, not a traceback; then visit every tab
with something to show. Each screen is kept in test-artifacts/ (dashboard-<tab>.png) for a person to look at.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.streamlit_server import CHROMIUM_ARGS, ROOT, chromium, streamlit_app
from twin import cli
from twin.config.loader import load_scenario
from twin.core.run import simulate

ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 30_000
START_MS = 120_000  # the first page imports the whole stack, and runs simulate: slow on a busy 2-core machine
expect.set_options(timeout=WAIT_MS)  # assertions wait as long as actions: a busy 2-core CI renders slowly


@pytest.fixture
def page(tmp_path: Path):
    ARTIFACTS.mkdir(exist_ok=True)
    log = tmp_path / "streamlit.log"
    with streamlit_app(log=log) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2200})
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            expect(page.get_by_role("button", name="Run", exact=True)).to_be_enabled(timeout=START_MS)
            yield page
        finally:
            browser.close()
    assert "Traceback" not in log.read_text(), log.read_text()


def _metric(page: Page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def test_change_pods_run_and_see_the_result(page: Page):
    run = page.get_by_role("button", name="Run", exact=True)
    expect(run).to_be_enabled()
    pods = page.get_by_role("spinbutton", name="pods", exact=True)
    expect(pods).to_have_value("5")  # the scenario's own value is the widget's default
    pods.fill("2")
    pods.press("Enter")
    expect(page.get_by_text("deployment.pods")).to_be_visible()  # the rerun lists the change
    run.click()
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=START_MS)
    expect(_metric(page, "Pods at the end")).to_have_text("2")
    expect(_metric(page, "Workers at the end")).to_have_text("10")  # 2 pods × 5 workers
    expect(page.get_by_text("Latency percentiles per second")).to_be_visible()
    expect(page.get_by_text("SLO p95 ≤ 500 ms")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(6)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.wait_for_timeout(500)  # let plotly finish drawing before the picture
    page.screenshot(path=ARTIFACTS / "dashboard.png")


def test_a_wrong_upload_shows_the_input_error(page: Page):
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_enabled()
    page.get_by_text("Upload real manifests and a JMeter result").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        files=[{"name": "service.yaml", "mimeType": "application/x-yaml", "buffer": b"kind: Service\n"}])
    alert = page.get_by_test_id("stAlert").filter(has_text="service.yaml")
    expect(alert).to_contain_text("kind: expected Deployment, HorizontalPodAutoscaler or ScaledObject, got 'Service'")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_enabled()  # the scenario's own files go on
    page.screenshot(path=ARTIFACTS / "dashboard-upload-error.png")


def _sweep_folder(tmp_path: Path) -> Path:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"base": str(ROOT / "scenarios/default.yaml"), "seed": 1, "replications": 1,
                                     "duration_s": 30, "grid": {"deployment.pods": [1, 3],
                                                                "deployment.torchserve.model.min_workers": [1, 3]}}))
    assert cli.main(["sweep", str(sweep), "--out", str(tmp_path / "sweep"), "--workers", "1", "--quiet"]) == 0
    return tmp_path / "sweep"


def _loo_csv(tmp_path: Path) -> Path:
    """The bundled leave-one-out table (`servetwin check` output) as the loo.csv that `check --out` writes."""
    row = re.compile(r"^(\S+)\s+([\d.]+)\s+([\d.]+)\s+\S+\s+([\d.]+)\s+([\d.]+)\s+\S+$")
    text = (ROOT / "calibration/profiles/check-loo.txt").read_text().splitlines()
    rows = [m.groups() for m in map(row.match, text) if m]
    path = tmp_path / "loo.csv"
    pd.DataFrame(rows, columns=["id", "measured_rps", "predicted_rps", "measured_ms", "predicted_ms"]).to_csv(
        path, index=False)
    return path


def _shadow_csv(tmp_path: Path) -> Path:
    """A shadow report of the default scenario: seed 2 predicting what seed 1 did, scored every 10 s, a row per
    prediction for each of two forecasts, as the live adapter writes it."""
    scenario = load_scenario(ROOT / "scenarios/default.yaml", {"duration_s": 60})
    (seen_rps, seen_ms), (told_rps, told_ms) = (_windows(simulate(scenario, seed=s).timeseries) for s in (1, 2))
    frame = pd.DataFrame({"time_s": 10 * seen_rps.index, "horizon_s": 10, "predicted_throughput_rps": told_rps,
                          "observed_throughput_rps": seen_rps, "predicted_latency_ms": told_ms,
                          "observed_latency_ms": seen_ms})
    frame["latency_error_pct"] = 100 * (frame["predicted_latency_ms"] / frame["observed_latency_ms"] - 1)
    frame["cluster_next"] = "holds 1"
    frame = pd.concat([frame.assign(forecast="holt"), frame.assign(forecast="flat")], ignore_index=True)
    path = tmp_path / "shadow.csv"
    frame.to_csv(path, index=False)
    return path


def _windows(series: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Mean throughput and mean latency in each 10-second window."""
    grouped = series.groupby((series["time_s"] - 1) // 10)
    return grouped["ok"].mean(), grouped["latency_mean_ms"].mean()


def _shot(page: Page, tab: str) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.wait_for_timeout(800)  # let plotly finish drawing before the picture
    page.screenshot(path=ARTIFACTS / f"dashboard-{tab}.png")


def test_every_tab_has_something_to_show_and_is_kept_as_a_screenshot(page: Page, tmp_path: Path):
    sweep, loo, shadow = _sweep_folder(tmp_path), _loo_csv(tmp_path), _shadow_csv(tmp_path)
    page.get_by_text("SLO and duration").click()  # a closed section of the sidebar
    duration = page.get_by_role("spinbutton", name="duration (s)", exact=True)
    duration.fill("60")
    duration.press("Enter")
    expect(page.get_by_text("duration_s")).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator(".js-plotly-plot")).to_have_count(6, timeout=START_MS)
    _shot(page, "run")
    page.get_by_role("button", name="Save as variant").click()
    expect(page.get_by_text("Saved 'variant 1' for the Compare tab")).to_be_visible()  # before the next change
    pods = page.get_by_role("spinbutton", name="pods", exact=True)
    pods.fill("2")
    pods.press("Enter")
    expect(page.get_by_text("deployment.pods")).to_be_visible()

    page.get_by_role("tab", name="Compare").click()
    seeds = page.get_by_role("spinbutton", name="Seeds per configuration")
    seeds.fill("2")
    seeds.press("Enter")
    page.get_by_role("button", name="Compare", exact=True).click()
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_text("variant 1 (2 seeds)").first).to_be_visible(timeout=2 * START_MS)
    _shot(page, "compare")

    page.get_by_role("tab", name="Sweep").click()
    folder = page.get_by_role("textbox", name="Sweep or optimiser folder")
    folder.fill(str(sweep))
    folder.press("Enter")
    expect(panel.get_by_text("mean over replications").first).to_be_visible()
    _shot(page, "sweep")

    page.get_by_role("tab", name="Calibration").click()
    page.get_by_text("a leave-one-out table (loo.csv)").click()
    table = page.get_by_role("textbox", name="loo.csv")
    table.fill(str(loo))
    table.press("Enter")
    expect(panel.get_by_text("Throughput MAPE (leave-one-out)", exact=True)).to_be_visible()
    _shot(page, "calibration")

    page.get_by_role("tab", name="Shadow").click()
    report = page.get_by_role("textbox", name="shadow.csv")
    report.fill(str(shadow))
    report.press("Enter")
    expect(_metric(page, "Predictions scored")).to_have_text(str(len(pd.read_csv(shadow)) // 2))  # one forecast's
    expect(panel.get_by_text("The cluster's autoscalers next: holds 1")).to_be_visible()
    _shot(page, "shadow")


def _snapshot(tmp_path: Path) -> Path:
    """What `servetwin live --snapshot` writes for two Ready pods of two workers under an HPA (as the live test's)."""
    from tests.live.test_shadow_hpa import HPA, METRIC, QUERY, SCENARIO
    from twin.live import snapshot
    from twin.live.cluster_controllers import ClusterControllers, manifest
    from twin.live.shadow import Traffic

    observed = snapshot.Observed(0.0, 2, 2, {"sleepy-0": (2, 2), "sleepy-1": (2, 2)}, Traffic(16.0, 60.0),
                                 ClusterControllers("sleepy", hpas=(manifest(HPA),)))
    return snapshot.write(str(tmp_path / "snap"), force=False, scenario_path=SCENARIO, observed=observed,
                          queries={METRIC: QUERY})


def test_a_snapshot_of_the_cluster_is_a_start_state_the_dashboard_runs(page: Page, tmp_path: Path):
    own = page.get_by_role("textbox", name="…or a scenario file", exact=True)
    own.fill(str(_snapshot(tmp_path)))
    own.press("Enter")
    pods = page.get_by_role("spinbutton", name="pods", exact=True)
    expect(pods).to_have_count(1, timeout=START_MS)  # the default scenario's field stays, stale, until the rerun ends
    expect(pods).to_have_value("2")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(_metric(page, "Pods at the end")).to_have_text("2", timeout=START_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)
