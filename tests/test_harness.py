"""The harness's real servers answer: lib.serve through the openai SDK, the app in Chromium."""

from __future__ import annotations

import openai
import pytest
from playwright.sync_api import expect

from tests.conftest import SERVED_API_KEY
from tests.servers.streamlit_app import EXCEPTION, rerun_after, wait_for_app_run

MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]


@pytest.fixture
def llama_client(served_model) -> openai.OpenAI:
    return openai.OpenAI(base_url=served_model, api_key=SERVED_API_KEY, max_retries=0, timeout=60)


def test_llama_server_answers_a_chat_completion(llama_client):
    completion = llama_client.chat.completions.create(model="SmolLM2-135M-Instruct", messages=MESSAGES, max_tokens=16)

    assert completion.choices[0].message.content.strip()
    assert 0 < completion.usage.completion_tokens <= 16


def test_llama_server_streams_a_chat_completion(llama_client):
    chunks = list(llama_client.chat.completions.create(model="SmolLM2-135M-Instruct", messages=MESSAGES, max_tokens=16, stream=True))

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert len(chunks) > 2
    assert chunks[-1].choices[0].finish_reason in {"stop", "length"}


def test_streamlit_app_renders_in_chromium(streamlit_url, page):
    page.goto(streamlit_url)
    wait_for_app_run(page)

    assert page.locator('[data-testid="stAppViewContainer"]').is_visible()
    assert page.locator(EXCEPTION).count() == 0


def test_rerun_after_waits_for_the_run_its_action_asked_for(streamlit_url, page):
    # The browser tests lean on rerun_after to know the server has kept a change.
    page.goto(f"{streamlit_url}/Cost_Simulator")
    wait_for_app_run(page)
    runs = page.lab_runs.events
    assert [what for what, _, _ in runs][-2:] == ["run started", "run ended"]  # the page's opening run

    # A click that asks for no run (plain text) is not taken for one.
    mark = len(runs)
    with pytest.raises(AssertionError, match="did not end"):
        rerun_after(page, page.locator("h1").first.click, timeout=3_000)
    assert runs[mark:] == []

    # A widget change: the run it asked for, and only it, has started and ended.
    box = page.locator("input[type=number]").first
    mark = len(runs)
    rerun_after(page, lambda: (box.fill("123"), box.press("Enter")))
    (asked, _, _), (started, run_id, _), (ended, ended_id, status) = runs[mark:]
    assert (asked, started, ended) == ("rerun asked", "run started", "run ended")
    assert run_id and ended_id == run_id and status == "FINISHED_SUCCESSFULLY"
    expect(box).to_have_value("123")
    assert page.evaluate("window.__labFrames") >= page.lab_runs.frames > 0  # both count the app's socket
