"""Nothing a student made is lost on a reload, in Chromium against the real app and store:
the conversation, the system prompt, settings on every page, results; another browser gets
nothing; a reload mid-answer keeps the partial answer; two replicas share a Redis store."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_builtin_robustness import answer_text, send, set_max_tokens
from tests.persistence import redis_server as redis_helper
from tests.servers.fault_server import DEFAULT_PACE
from tests.servers.streamlit_app import EXCEPTION, new_watched_page, rerun_after, wait_for_app_run

MESSAGE = '[data-testid="stChatMessage"]'
SIDEBAR = '[data-testid="stSidebar"]'
COOKIE = "hll_browser"
expect.set_options(timeout=30_000)  # what a reloaded page draws arrives over a few runs


def open_page(page, url: str, path: str = "Streaming_Chat") -> None:
    page.goto(f"{url}/{path}")
    wait_for_app_run(page, timeout=90_000)


def reload(page) -> None:
    page.reload()
    wait_for_app_run(page, timeout=90_000)


def system_prompt(page):
    return page.locator(SIDEBAR).get_by_label("System prompt text")


def test_a_reload_brings_back_the_conversation_and_settings_and_no_one_else_sees_them(
        streamlit_url, page, browser):
    open_page(page, streamlit_url)
    set_max_tokens(page, 40)
    system_prompt(page).fill("You answer in one short sentence.")
    system_prompt(page).press("Control+Enter")
    wait_for_app_run(page)
    send(page, "Name one museum in Paris.")
    page.get_by_text("Time to first token").wait_for(timeout=90_000)
    wait_for_app_run(page, timeout=60_000)
    answer = answer_text(page, 1).split("Time to first token")[0].strip()  # not the metrics row
    assert answer

    reload(page)
    expect(page.locator(MESSAGE)).to_have_count(2)
    assert "Name one museum in Paris." in page.locator(MESSAGE).nth(0).inner_text()
    assert answer_text(page, 1).strip() == answer
    # (expect: a restored text box is drawn empty first, then filled a moment later)
    expect(system_prompt(page)).to_have_value("You answer in one short sentence.")
    expect(page.get_by_label("max_tokens", exact=True)).to_have_value("40")
    assert page.locator(EXCEPTION).count() == 0

    # Another page and back: the widgets Streamlit forgot in between are put back.
    open_page(page, streamlit_url, "Cost_Simulator")
    page.get_by_role("link", name="Streaming chat").click()
    wait_for_app_run(page, timeout=60_000)
    expect(system_prompt(page)).to_have_value("You answer in one short sentence.")

    # Another browser (a student at the next desk): an empty chat with the default prompt.
    other = new_watched_page(browser, timeout=30_000)
    try:
        open_page(other, streamlit_url)
        expect(system_prompt(other)).to_have_value("You help travelers make plans for their trips.")
        assert other.locator(MESSAGE).count() == 0
    finally:
        other.context.close()


def test_a_made_up_or_edited_cookie_opens_an_empty_session(streamlit_url, page):
    open_page(page, streamlit_url)
    send(page, "Remember the word tangerine.")
    page.get_by_text("Time to first token").wait_for(timeout=90_000)
    wait_for_app_run(page, timeout=60_000)
    mine = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", mine["value"])

    for forged, note in [("A" * 22, False), ("not-one-of-ours'\"<>", True)]:
        page.context.add_cookies([{**mine, "value": forged}])
        reload(page)
        expect(system_prompt(page)).to_have_value("You help travelers make plans for their trips.")
        assert page.locator(MESSAGE).count() == 0, forged
        assert (page.get_by_text("saved-session cookie was not one of ours").count() > 0) == note
        assert page.locator(EXCEPTION).count() == 0
    page.context.add_cookies([mine])  # the real one still opens the real session
    reload(page)
    expect(page.locator(MESSAGE).nth(0)).to_contain_text("tangerine")

    # A shared lab computer: the student leaving starts afresh, the next one sees nothing.
    page.locator(SIDEBAR).get_by_role("button", name="Start afresh").click()
    page.get_by_role("button", name="Forget it all").click()
    wait_for_app_run(page)
    expect(page.get_by_text("Started afresh")).to_be_visible()
    expect(page.locator(MESSAGE)).to_have_count(0)  # the notice is drawn before the chat is
    reload(page)
    expect(system_prompt(page)).to_have_value("You help travelers make plans for their trips.")
    expect(page.locator(MESSAGE)).to_have_count(0)
    renewed = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert renewed["value"] != mine["value"]  # a new id: the old one opens nothing any more
    page.context.add_cookies([mine])
    reload(page)
    expect(system_prompt(page)).to_be_visible()
    assert page.locator(MESSAGE).count() == 0


def test_each_page_keeps_its_settings_across_a_reload(streamlit_url, page):
    def users():
        return page.get_by_role("spinbutton", name="Users")

    def first_row():
        return page.locator('[data-testid="stTextArea"] textarea').first

    def prompt():
        return page.get_by_label("Prompt (both models get it)")

    open_page(page, streamlit_url, "Cost_Simulator")
    users().fill("12345")
    rerun_after(page, lambda: users().press("Enter"))
    open_page(page, streamlit_url, "Chat_Templates")
    first_row().fill("You are a pirate.")
    rerun_after(page, lambda: first_row().press("Control+Enter"), timeout=60_000)
    open_page(page, streamlit_url, "Base_vs_Instruct")
    prompt().fill("Once upon a time")
    rerun_after(page, lambda: prompt().press("Control+Enter"))
    open_page(page, streamlit_url, "Structured_Outputs")
    rerun_after(page, lambda: page.get_by_text("Paste a JSON Schema").click())

    for path, shown in [
        ("Cost_Simulator", lambda: expect(users()).to_have_value("12345")),
        ("Chat_Templates", lambda: expect(first_row()).to_have_value("You are a pirate.")),
        ("Base_vs_Instruct", lambda: expect(prompt()).to_have_value("Once upon a time")),
        ("Structured_Outputs", lambda: expect(page.get_by_role("textbox", name="JSON Schema")).to_have_count(1)),
    ]:
        open_page(page, streamlit_url, path)
        reload(page)
        shown()
        assert page.locator(EXCEPTION).count() == 0, path


def test_results_come_back_after_a_reload(streamlit_url, page):
    open_page(page, streamlit_url, "Structured_Outputs")
    page.get_by_role("button", name="Ask in all three modes").click()
    page.get_by_text("Valid JSON that matches the schema").first.wait_for(timeout=180_000)
    wait_for_app_run(page, timeout=180_000)
    runs = page.get_by_label("Runs per mode (N)")
    runs.fill("1")
    runs.press("Enter")
    wait_for_app_run(page)
    page.get_by_role("button", name="Start the experiment").click()
    page.get_by_text("Results for").wait_for(timeout=180_000)
    wait_for_app_run(page, timeout=60_000)
    answers = page.locator('[data-testid="stCode"]').all_inner_texts()
    table = page.locator('[data-testid="stTable"]').inner_text()

    reload(page)
    for heading in ("Prompt only", "JSON mode", "Structured Outputs"):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_have_count(1)
    expect(page.locator('[data-testid="stTable"]')).to_be_visible()
    assert page.locator('[data-testid="stTable"]').inner_text() == table
    expect(page.locator('[data-testid="stCode"]')).to_have_count(len(answers))  # drawn later
    assert page.locator('[data-testid="stCode"]').all_inner_texts() == answers
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(3, timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0


def test_a_reload_mid_answer_keeps_the_partial_answer(start_streamlit, fault_server, page, request):
    fault_server.pace = 50.0  # 2,000 numbered words over 40 s: reloaded long before the end
    request.addfinalizer(lambda: setattr(fault_server, "pace", DEFAULT_PACE))
    url = start_streamlit({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": "sk-test"})
    open_page(page, url)
    page.locator(f"{SIDEBAR} [data-testid='stSelectbox']").nth(1).click()
    page.get_by_role("option", name="paced", exact=True).click()
    wait_for_app_run(page)
    send(page, "Count for me.")
    page.wait_for_function(
        """() => (document.querySelectorAll('[data-testid="stChatMessage"]')[1]?.innerText || "")
                 .includes(" w20")""", timeout=30_000)
    reload(page)
    expect(page.locator(MESSAGE)).to_have_count(2)
    partial = answer_text(page, 1)
    assert " w20" in partial and " w2000" not in partial
    assert len([r for r in fault_server.requests if r.path.endswith("/chat/completions")]) == 1
    assert page.locator(EXCEPTION).count() == 0


def test_two_replicas_on_one_redis_store_serve_the_same_browser(
        start_streamlit, fault_server, page, tmp_path):
    server, redis_url = redis_helper.start_redis(tmp_path)
    try:
        settings = {"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": "sk-test",
                    "LAB_STORE_URL": redis_url}
        first, second = start_streamlit(settings), start_streamlit(settings)
        open_page(page, first)
        page.locator(f"{SIDEBAR} [data-testid='stSelectbox']").nth(1).click()
        page.get_by_role("option", name="ok", exact=True).click()
        wait_for_app_run(page)
        send(page, "Hello from replica one.")
        page.get_by_text("Hello from the fault server.").wait_for(timeout=30_000)
        wait_for_app_run(page)
        # A load balancer sends the next page load to the other replica (cookies are per
        # host, so 127.0.0.1 on another port is the same site to the browser).
        open_page(page, second)
        expect(page.locator(MESSAGE)).to_have_count(2)
        assert "Hello from replica one." in page.locator(MESSAGE).nth(0).inner_text()
        assert "Traceback" not in first.log() + second.log()
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_traceback_in_the_shared_app(request):
    yield
    if "streamlit_url" in request.fixturenames:
        assert "Traceback" not in request.getfixturevalue("streamlit_url").log()
