"""The built-in model (SmolLM2 on llama.cpp, 4 slots) when users do unexpected things mid-answer:
close the tab, press Stop, send another message, or ask all at once from four sessions."""

from __future__ import annotations

import re
import urllib.request

from tests.servers.streamlit_app import (EXCEPTION, new_watched_page, open_expander, rerun_after,
                                        wait_for_app_run)

CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'
ALERT = '[data-testid="stAlert"]'
STOP = "Stop generating"
STOPPED = "The answer was stopped before it was complete"
LONG_PROMPT = "Write a long story about a dragon"
LONG_MAX_TOKENS = 1024  # about 15 s of text from the built-in model: long enough to interrupt
FINISHED = re.compile(r"Finish reason\s+(stop|length)")

# The streamed text of the index-th chat message, without the Stop button's label.
_ANSWER_TEXT_JS = """([index]) => {
    const message = document.querySelectorAll('[data-testid="stChatMessage"]')[index];
    if (!message) return "";
    const parts = [...message.querySelectorAll('[data-testid="stMarkdownContainer"]')]
        .filter(el => !el.closest('button'));
    return parts.map(el => el.innerText).join("\\n");
}"""


def open_chat(page, url: str) -> None:
    page.goto(f"{url}/Streaming_Chat")
    wait_for_app_run(page, timeout=60_000)


def set_max_tokens(page, value: int) -> None:
    field = page.get_by_label("max_tokens", exact=True)
    if not field.is_visible():
        open_expander(page.locator('[data-testid="stSidebar"]'), "Sampling")
    field.wait_for()
    if field.input_value() == str(value):
        return  # no change, no run to wait for
    field.fill(str(value))
    rerun_after(page, lambda: field.press("Enter"))
    assert field.input_value() == str(value)


def send(page, text: str) -> None:
    page.locator(CHAT_INPUT).fill(text)
    page.locator(CHAT_INPUT).press("Enter")


def answer_text(page, index: int) -> str:
    return page.evaluate(_ANSWER_TEXT_JS, [index])


def wait_until_streaming(page, index: int, min_chars: int = 60, timeout: float = 60_000) -> str:
    """Wait until the index-th message shows at least min_chars of text while the Stop button
    is still there (the answer is under way); return the text shown so far."""
    page.wait_for_function(
        f"([index, n]) => ({_ANSWER_TEXT_JS})([index]).trim().length >= n", arg=[index, min_chars],
        timeout=timeout,
    )
    assert page.get_by_role("button", name=STOP).is_visible(), "the answer ended before it could be interrupted"
    return answer_text(page, index)


def wait_for_complete_answer(page, index: int, timeout: float = 60_000) -> str:
    """Wait until the index-th message is a finished answer (its metrics row says why it ended)
    with no error, and return its text."""
    message = page.locator(MESSAGE).nth(index)
    message.get_by_text("Time to first token").wait_for(timeout=timeout)
    shown = message.inner_text()
    assert FINISHED.search(shown), shown
    assert message.locator(ALERT).count() == 0, shown
    text = answer_text(page, index).strip()
    assert len(text) > 10, shown
    return text


def roles(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stChatMessage"]')].map(m =>
        m.querySelector('[data-testid="stChatMessageAvatarUser"]') ? "user" :
        m.querySelector('[data-testid="stChatMessageAvatarAssistant"]') ? "assistant" : "?")""")


def squash(text: str) -> str:
    return " ".join(text.split())


def assert_app_healthy(url) -> None:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        assert response.read().decode().strip() == "ok"
    assert "Traceback" not in url.log(), url.log()[-3000:]


def test_closing_a_tab_mid_answer_leaves_the_app_serving_others(start_streamlit, browser, page):
    url = start_streamlit({})
    page_a = new_watched_page(browser)
    context_a = page_a.context
    try:
        open_chat(page_a, url)
        set_max_tokens(page_a, LONG_MAX_TOKENS)
        send(page_a, LONG_PROMPT)
        wait_until_streaming(page_a, 1)
    finally:
        context_a.close()  # the tab goes away while its answer streams

    open_chat(page, url)
    send(page, "Name three fruits.")
    wait_for_complete_answer(page, 1)
    assert squash(page.locator(MESSAGE).nth(0).inner_text()).endswith("Name three fruits.")
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(url.log_path.parent / "closed-tab.png"), full_page=True)
    assert_app_healthy(url)


def test_stop_keeps_the_partial_answer_and_the_conversation_goes_on(streamlit_url, page):
    open_chat(page, streamlit_url)
    set_max_tokens(page, LONG_MAX_TOKENS)
    send(page, LONG_PROMPT)
    seen = squash(wait_until_streaming(page, 1))
    page.get_by_role("button", name=STOP).click()
    first_reply = page.locator(MESSAGE).nth(1)
    first_reply.get_by_text(STOPPED).wait_for(timeout=30_000)
    wait_for_app_run(page)
    kept = squash(answer_text(page, 1))
    assert kept.startswith(seen[:40]), (seen, kept)
    assert page.get_by_role("button", name=STOP).count() == 0

    set_max_tokens(page, 128)  # the follow-up need not be long
    send(page, "Give the dragon a name.")
    wait_for_complete_answer(page, 3)
    assert roles(page) == ["user", "assistant", "user", "assistant"]
    assert squash(answer_text(page, 1)) == kept  # the partial answer is still there, unchanged
    assert first_reply.get_by_text(STOPPED).is_visible()
    assert page.locator(EXCEPTION).count() == 0


def test_a_new_message_mid_answer_keeps_the_partial_answer(streamlit_url, page):
    open_chat(page, streamlit_url)
    set_max_tokens(page, LONG_MAX_TOKENS)
    send(page, LONG_PROMPT)
    seen = squash(wait_until_streaming(page, 1))
    send(page, "What is the capital of France?")
    wait_for_complete_answer(page, 3, timeout=90_000)
    wait_for_app_run(page)
    texts = [squash(t) for t in page.locator(MESSAGE).all_inner_texts()]
    assert roles(page) == ["user", "assistant", "user", "assistant"], texts
    assert texts[0].endswith(LONG_PROMPT)
    assert texts[2].endswith("What is the capital of France?")
    assert squash(answer_text(page, 1)).startswith(seen[:40]), (seen, texts[1])
    assert page.locator(EXCEPTION).count() == 0


PROMPTS = [
    "Tell me one fact about apples.",
    "Tell me one fact about the moon.",
    "Tell me one fact about trains.",
    "Tell me one fact about violins.",
]


def test_four_sessions_at_once_each_get_their_own_answer(start_streamlit, browser):
    url = start_streamlit({})
    pages = [new_watched_page(browser) for _ in PROMPTS]
    contexts = [session.context for session in pages]
    try:
        for session in pages:  # all four arrive together, the first ones start the engine
            session.goto(f"{url}/Streaming_Chat")
        for session, prompt in zip(pages, PROMPTS):
            wait_for_app_run(session, timeout=60_000)
            set_max_tokens(session, 96)  # four answers share two cores: keep them short
            session.locator(CHAT_INPUT).fill(prompt)
        for session in pages:
            session.locator(CHAT_INPUT).press("Enter")
        for session in pages:
            wait_for_complete_answer(session, 1, timeout=90_000)
        for session, prompt in zip(pages, PROMPTS):
            wait_for_app_run(session)
            messages = session.locator(MESSAGE)
            assert roles(session) == ["user", "assistant"], messages.all_inner_texts()
            assert squash(messages.nth(0).inner_text()).endswith(prompt)
            session.screenshot(path=str(url.log_path.parent / f"session-{pages.index(session) + 1}.png"))
            wire = session.locator('[data-testid="stColumn"]').filter(has_text="=== REQUEST ===").last
            wire.get_by_text("server-sent events").wait_for()
            assert prompt in wire.inner_text()  # the request it sent carries its own question
            shown = session.locator("body").inner_text()
            for other in PROMPTS:
                if other != prompt:
                    assert other not in shown, f"{prompt!r} session shows {other!r}"
            assert session.locator(EXCEPTION).count() == 0
    finally:
        for context in contexts:
            context.close()
    assert_app_healthy(url)
