"""The Structured Outputs page in a real Chromium on the real app and built-in model:
three modes, an experiment stopped midway, and the mask stepped."""

import re

from lib.structured.mask import MAX_STEPS
from tests.servers.streamlit_app import EXCEPTION, rerun_after, wait_for_app_run

# What the mask view shows once a stepped generation is over, whichever way it ended.
CUT_SHORT = f"Stopped at the {MAX_STEPS}-token limit"
FINISHED = re.compile(f"{CUT_SHORT}|Done after")


def test_three_modes_a_stopped_experiment_and_the_mask(streamlit_url, page):
    page.goto(f"{streamlit_url}/Structured_Outputs")
    wait_for_app_run(page, timeout=60_000)
    page.get_by_role("button", name="Ask in all three modes").click()
    page.get_by_text("Valid JSON that matches the schema").first.wait_for(timeout=180_000)
    wait_for_app_run(page, timeout=180_000)
    for title in ("Prompt only", "JSON mode", "Structured Outputs"):
        assert page.get_by_role("heading", name=title, exact=True).is_visible()

    runs = page.get_by_label("Runs per mode (N)")
    runs.fill("10")
    runs.press("Enter")
    wait_for_app_run(page)
    page.get_by_text("Up to 30 requests").wait_for()
    page.get_by_role("button", name="Start the experiment").click()
    page.get_by_text("2 of 30 requests").wait_for(timeout=180_000)
    page.get_by_role("button", name="⏹ Stop").click()
    page.get_by_text("Stopped after").wait_for(timeout=180_000)
    wait_for_app_run(page, timeout=60_000)
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(2).wait_for(timeout=30_000)  # plotly's component mounts after the run ends
    assert charts.count() == 3

    # Watch the mask on the nested trip: hundreds of steps, so the click lands mid-way.
    rerun_after(page, lambda: page.get_by_text("Trip itinerary (nested)").click())
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text("Step 1:", exact=True).wait_for(timeout=120_000)
    # "To the end", then "Next token" while it steps: the click ends the first run at its
    # next step; the two runs never step the grammar at once (llguidance: "Already borrowed")
    page.get_by_role("button", name="To the end").click()
    page.get_by_text("Stepping… token").first.wait_for(timeout=120_000)
    rerun_after(page, lambda: page.get_by_role("button", name="Next token").click(), timeout=120_000)
    assert page.get_by_text("Already borrowed").count() == 0
    assert page.get_by_text(FINISHED).count() == 0  # interrupted, not finished
    page.get_by_role("button", name="To the end").click()
    # the small model keeps writing the trip: the step limit ends it, and the page says so
    # (if it ever finishes inside the limit, its JSON must be whole and valid)
    page.get_by_text(re.compile(f"{CUT_SHORT}|matches the schema ✅")
                     ).first.wait_for(timeout=180_000)
    assert page.get_by_text("Already borrowed").count() == 0

    # The lecture's Location, to the end: valid JSON.
    rerun_after(page, lambda: page.get_by_text("Location (the lecture's)").click())
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text("Step 1:", exact=True).wait_for(timeout=120_000)
    page.get_by_role("button", name="To the end").click()
    page.get_by_text("matches the schema ✅").wait_for(timeout=180_000)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("Already borrowed").count() == 0
