"""The real app in a real Chromium: every page opens cleanly, the built-in model streams a
reply, and a canary API key never reaches the page or the server log."""

import time

from lib.lessons import LESSONS
from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run

CANARY = "sk-canary-browser-4b9e0d7c2a"
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'


def url_path(lesson) -> str:
    return lesson.path.removeprefix("app_pages/").removesuffix(".py").split("_", 1)[1]


def test_home_and_every_page_open_without_an_error(streamlit_url, page):
    page.goto(streamlit_url)
    wait_for_app_run(page)
    assert page.get_by_role("heading", name="Hosted LLM Lab").is_visible()
    for lesson in LESSONS:
        page.goto(f"{streamlit_url}/{url_path(lesson)}")
        wait_for_app_run(page, timeout=60_000)
        page.get_by_role("heading", name=lesson.title).wait_for()
        assert page.locator(EXCEPTION).count() == 0, lesson.path


def test_chat_with_the_builtin_model_streams_a_reply(streamlit_url, page):
    page.goto(f"{streamlit_url}/Streaming_Chat")
    wait_for_app_run(page)
    page.locator(CHAT_INPUT).fill("What should I do on my upcoming trip to Paris?")
    page.locator(CHAT_INPUT).press("Enter")
    reply = page.locator(MESSAGE).nth(1)
    reply.wait_for(timeout=90_000)
    lengths = []
    deadline = time.time() + 120
    while time.time() < deadline:  # watch the reply grow while the model streams it
        lengths.append(len(reply.inner_text()))
        if page.get_by_text("Time to first token").count():
            break
        time.sleep(0.05)
    wait_for_app_run(page, timeout=120_000)
    final = reply.inner_text().strip()
    assert len(final) > 20
    growing = sorted(set(n for n in lengths if n > 0))
    assert len(growing) >= 3, f"the reply did not arrive in pieces: {lengths}"
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("Tokens / s").is_visible()


def test_a_canary_key_never_reaches_the_page_or_the_log(start_streamlit, fault_server, page):
    url = start_streamlit({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": CANARY})
    page.goto(f"{url}/Streaming_Chat")
    wait_for_app_run(page)
    # The server's first model (sorted) is "auth": a 401 that echoes the key it received.
    page.locator(CHAT_INPUT).fill("Hello")
    page.locator(CHAT_INPUT).press("Enter")
    page.get_by_text("The API key was rejected (401).").wait_for(timeout=30_000)
    page.get_by_text("On the wire: the exact request and what came back").wait_for()
    page.get_by_text("Incorrect API key provided").first.wait_for()
    assert fault_server.requests[-1].headers["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in page.content()
    assert CANARY not in url.log()
    page.screenshot(path=str(url.log_path.parent / "canary.png"), full_page=True)


def test_stopping_mid_stream_keeps_the_partial_answer(start_streamlit, fault_server, page):
    fault_server.slow_delay = 0.4
    url = start_streamlit({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": CANARY})
    page.goto(f"{url}/Streaming_Chat")
    wait_for_app_run(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(1).click()
    page.get_by_role("option", name="slow", exact=True).click()
    wait_for_app_run(page)
    page.locator(CHAT_INPUT).fill("Tell me slowly")
    page.locator(CHAT_INPUT).press("Enter")
    page.locator(MESSAGE).nth(1).get_by_text("Streaming").wait_for()
    page.get_by_role("button", name="Stop generating").click()
    wait_for_app_run(page)
    first_reply = page.locator(MESSAGE).nth(1)
    first_reply.get_by_text("The answer was stopped before it was complete").wait_for()
    shown = first_reply.inner_text()
    assert "Streaming" in shown
    assert "fault server." not in shown  # it was really cut short
    page.locator(CHAT_INPUT).fill("And again")  # the conversation goes on, the partial stays
    page.locator(CHAT_INPUT).press("Enter")
    page.locator(MESSAGE).nth(3).get_by_text("from the fault server.").wait_for(timeout=30_000)
    assert "Streaming" in page.locator(MESSAGE).nth(1).inner_text()
