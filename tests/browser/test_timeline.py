"""The Model timeline page in Chromium: the plotly chart draws, with a legend of the three licence classes."""

from __future__ import annotations

from lib.timeline.data import load_timeline
from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run

CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot'
LEGEND_ENTRIES = f"{CHART} .legend .traces .legendtext"


def test_timeline_chart_and_legend_render(streamlit_url, page):
    page.goto(f"{streamlit_url}/Model_Timeline")
    wait_for_app_run(page)

    page.locator(CHART).first.wait_for(state="visible", timeout=30_000)
    page.locator(LEGEND_ENTRIES).first.wait_for(state="visible")

    legend = [text.strip() for text in page.locator(LEGEND_ENTRIES).all_text_contents()]
    assert legend == ["Closed", "Open-weight", "Open-source"]
    assert page.locator(f"{CHART} .scatterlayer .point").count() == len(load_timeline().releases)
    assert page.locator(EXCEPTION).count() == 0

