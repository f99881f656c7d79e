"""The dashboard in a real headless browser: `streamlit run app/dashboard.py` driven by Debian's Chromium.

Change pods in the sidebar, press Run, wait for the plots, and check the page shows the new pod count; then upload
a manifest of the wrong kind and check the page shows the InputError's line, not a traceback. The last screen is kept
as test-artifacts/dashboard.png (and the error as dashboard-upload-error.png).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.streamlit_server import CHROMIUM_ARGS, ROOT, chromium, streamlit_app

ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 30_000
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
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
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
