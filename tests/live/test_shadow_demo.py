"""`make shadow-demo` is its own end-to-end test: the same set-up (a real TorchServe, Debian's Prometheus, KMock) and
the same shadow run, shorter, then the dashboard it opens, in Debian's Chromium, on the Shadow tab with the run's
shadow.csv."""
from __future__ import annotations

import csv
import json

import psutil
from playwright.sync_api import expect, sync_playwright

from scripts import shadow_demo
from tests.support.streamlit_server import CHROMIUM_ARGS, ROOT, chromium

START_MS = 120_000  # the first page imports the whole stack: slow on a busy 2-core machine


def _rows(path) -> list[dict]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


def test_the_demo_scores_shadow_predictions_and_the_shadow_tab_shows_them(tmp_path):
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = shadow_demo.run(tmp_path / "demo", duration_s=25)
    rows = _rows(result.shadow_csv)
    report = json.loads((result.out / "live" / "report.json").read_text())
    assert report["mode"] == "shadow" and report["step_errors"] == 0
    assert report["shadow"]["predictions_scored"] >= 1 and rows, report
    assert set(report["writes"]) <= {"shadow", "refused"}  # what it would have done; nothing sent
    for row in rows:  # 4 users on one 50 ms worker: ~20 req/s at ~200 ms, predicted within the shadow tolerance
        assert 150 < float(row["observed_latency_ms"]) < 260 and abs(float(row["latency_error_pct"])) < 25, row
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= children_before  # every server stopped
    marker = json.loads((result.out / ".servetwin-output.json").read_text())
    assert marker["command"] == "shadow-demo" and {"live.yaml", "live/shadow.csv"} <= set(marker["entries"])

    with shadow_demo.dashboard(result.shadow_csv) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.goto(url)
            expect(page.get_by_role("tab", name="Shadow")).to_have_attribute("aria-selected", "true",
                                                                            timeout=START_MS)
            scored = page.get_by_test_id("stMetric").filter(has_text="Predictions scored")
            own = [row for row in rows if row["forecast"] == rows[0]["forecast"]]  # the tab shows one forecast
            expect(scored.get_by_test_id("stMetricValue")).to_have_text(str(len(own)), timeout=START_MS)
            expect(page.locator(".js-plotly-plot").first).to_be_visible()
            expect(page.get_by_test_id("stException")).to_have_count(0)
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path=ROOT / "test-artifacts" / "shadow-demo.png")
        finally:
            browser.close()


def test_the_demo_refuses_a_folder_it_does_not_own_and_starts_nothing(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("not the demo's")
    assert shadow_demo.main(["--out", str(folder), "--duration", "5", "--no-serve"]) == 2
    assert "expected a new or empty folder" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
