"""The chat page's Tools view in Chromium: the whole round trip (the call, the function run,
the tool message, the answer) with the built-in model's grammar-forced call and with a
hosted-style model's real tool_calls (the fault server), both requests on the wire panel."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_builtin_robustness import open_chat, set_max_tokens
from tests.browser.test_classroom_faults import pick_model
from tests.browser.test_classroom_saved import reload
from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run

WIRE = '[data-testid="stExpander"]'
TAB = '[data-testid="stTab"]'


def open_tools(page) -> None:
    page.get_by_role("radio", name="Tools", exact=True).click()
    wait_for_app_run(page)
    expect(page.get_by_role("button", name="Send with tools")).to_be_visible(timeout=30_000)


def send_and_wait(page) -> None:
    page.get_by_role("button", name="Send with tools").click()
    expect(page.get_by_text("⑦ The final answer")).to_be_visible(timeout=180_000)
    wait_for_app_run(page, timeout=60_000)


def wire_requests(page):
    """The wire panel's tabs, one per request of the round trip."""
    wire = page.locator(WIRE).filter(has_text="On the wire")
    return wire, wire.locator(TAB)


def test_the_built_in_model_calls_a_function_through_the_grammar(streamlit_url, page):
    open_chat(page, streamlit_url)
    set_max_tokens(page, 120)
    open_tools(page)
    expect(page.get_by_text("The built-in model was never trained to call tools")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("a grammar"))).to_be_checked()
    send_and_wait(page)
    steps = page.locator('[data-testid="stColumn"]').filter(has_text="① The tool definition").last
    for shown in ("② What came back", "the assistant message with tool_calls it stands for",
                  "③ get_weather", "⑤ The tool message sent back", "⑥ The second request",
                  "call_grammar_1", "json_schema"):  # JSON blocks fill in after the text
        expect(steps).to_contain_text(shown, timeout=30_000)
    wire, tabs = wire_requests(page)
    expect(tabs).to_have_count(2)
    expect(wire).to_contain_text("response_format")  # the first request: the grammar
    tabs.nth(1).click()
    expect(wire).to_contain_text("call_grammar_1")  # the second: the result sent back
    expect(wire).to_contain_text("=== RESPONSE === 200")
    assert page.locator(EXCEPTION).count() == 0

    answer = page.locator('[data-testid="stAlert"]').last.inner_text()  # st.success
    reload(page)  # the view and its last exchange are saved with the browser's work
    expect(page.get_by_text("⑦ The final answer")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("call_grammar_1").first).to_be_visible()
    assert answer.strip() in page.locator("body").inner_text()


def test_a_hosted_model_returns_tool_calls_and_answers_from_the_results(
        start_streamlit, fault_server, page):
    url = start_streamlit({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": "sk-test-tools"})
    open_chat(page, url)
    pick_model(page, "tools")
    open_tools(page)
    expect(page.get_by_text("never trained to call tools")).to_have_count(0)
    page.get_by_role("combobox", name=re.compile("Functions the model may call")).click()
    page.get_by_role("option", name="convert_currency").click()
    page.keyboard.press("Escape")
    wait_for_app_run(page)
    send_and_wait(page)
    expect(page.get_by_text("2 calls in one answer")).to_be_visible()
    expect(page.get_by_text("Here is what the tool said:").first).to_be_visible()
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="light rain")).to_be_visible()
    posts = [r.body for r in fault_server.requests if r.method == "POST"]
    assert len(posts) == 2
    assert [t["function"]["name"] for t in posts[0]["tools"]] == ["get_weather", "convert_currency"]
    assert [m.get("tool_call_id") for m in posts[1]["messages"] if m["role"] == "tool"] == [
        "call_fault_0", "call_fault_1"]
    wire, tabs = wire_requests(page)
    expect(tabs).to_have_count(2)
    expect(wire).to_contain_text('"tool_choice"')
    expect(wire).to_contain_text("call_fault_0")  # the first response: its tool_calls
    tabs.nth(1).click()
    expect(wire).to_contain_text("Here is what the tool said")
    assert page.locator(EXCEPTION).count() == 0
