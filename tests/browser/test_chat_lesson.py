"""The chat lesson's views in Chromium on the built-in model: Compare streams two panes at
once, and the forgetting demo shows what a sliding window leaves out."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.test_builtin_robustness import open_chat, set_max_tokens
from tests.servers.streamlit_app import EXCEPTION, open_expander, rerun_after, wait_for_app_run

PANES_JS = """() => [...document.querySelectorAll('[data-testid="stColumn"]')]
    .filter(c => /^Pane \\d: provider/.test(c.innerText.trim()))
    .map(c => c.innerText)"""
WIRE = '[data-testid="stColumn"]'


def answer_part(pane_text: str) -> str:
    """What a pane shows below its pickers: the model's name, then the answer."""
    return pane_text.split("SmolLM2-135M-Instruct")[-1].strip()


def test_compare_streams_two_panes_at_once(streamlit_url, page):
    open_chat(page, streamlit_url)
    set_max_tokens(page, 96)
    page.get_by_text("Compare models").click()
    wait_for_app_run(page)
    page.get_by_role("button", name="Send to all at once").click()
    both_writing = False
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        panes = page.evaluate(PANES_JS)
        parts = [answer_part(p) for p in panes]
        if len(parts) == 2 and all(len(p) > 5 for p in parts) and not any(
                "first token" in p for p in panes):
            both_writing = True  # both panes part-way through, neither finished
        if sum("first token" in p for p in panes) == 2:
            break
        time.sleep(0.05)
    wait_for_app_run(page, timeout=60_000)
    panes = page.evaluate(PANES_JS)
    assert both_writing, panes
    assert all("first token" in p and "tok/s" in p and "free" in p for p in panes), panes
    assert page.locator(EXCEPTION).count() == 0


def test_the_forgetting_demo_leaves_the_name_out_of_the_request(streamlit_url, page):
    open_chat(page, streamlit_url)
    set_max_tokens(page, 48)
    sidebar = page.locator('[data-testid="stSidebar"]')
    open_expander(sidebar, "Context window")
    demo = sidebar.get_by_role("button", name="Load the forgetting demo")
    rerun_after(page, demo.click, timeout=120_000)  # the run ends once turn 8 is answered
    page.get_by_text("This turn sent").first.wait_for(timeout=90_000)  # turn 8 was answered
    wait_for_app_run(page, timeout=60_000)
    # The gauge is drawn after the answer, by a count the engine makes: wait for it.
    expect(page.get_by_text("of this model's 4,096-token window")).to_have_count(1, timeout=60_000)
    wire = page.locator(WIRE).filter(has_text="=== REQUEST ===").last
    assert "By the way, what's my name?" in wire.inner_text()
    assert "Amelia" not in wire.inner_text()
    assert page.get_by_text("No longer sent").count() >= 10  # turns 1–5 and more are marked
    assert page.locator(EXCEPTION).count() == 0
