"""LAB_BUILTIN_BASE_URL in Chromium: the app's built-in model answers from the operator's
fleet (a real `python -m lib.serve`, the `served_model` fixture), the app starts no engine of
its own, the fleet's key shows nowhere, and a fleet that is down is said on the page."""

from __future__ import annotations

from lib.models.fleet import API_KEY_ENV, BASE_URL_ENV
from lib.models.shipped import GEMMA3_BASE
from tests.browser.test_builtin_robustness import (open_chat, send, set_max_tokens,
                                                   wait_for_complete_answer)
from tests.conftest import SERVED_API_KEY
from tests.servers.process_tree import app_pid, engine_children
from tests.servers.processes import free_port
from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run

WIRE = '[data-testid="stColumn"]'


def test_the_chat_answers_from_the_fleet_and_no_engine_is_spawned(page, start_streamlit,
                                                                   served_model):
    url = start_streamlit({BASE_URL_ENV: served_model, API_KEY_ENV: SERVED_API_KEY})
    open_chat(page, url)
    set_max_tokens(page, 32)
    send(page, "Say hello to the class.")
    assert wait_for_complete_answer(page, 1)
    wire = page.locator(WIRE).filter(has_text="=== REQUEST ===").last.inner_text()
    assert f"POST {served_model}/chat/completions" in wire, wire[:400]
    assert engine_children(app_pid(url)) == []
    # The key: not on the page (wire panel included), not in the app's log.
    for shown in (page.content(), wire, url.log()):
        assert SERVED_API_KEY not in shown

    # The fleet serves only the chat model: Base vs instruct says so, and starts nothing.
    page.goto(f"{url}/Base_vs_Instruct")
    wait_for_app_run(page, timeout=60_000)
    page.get_by_text(f"{GEMMA3_BASE.label} is not served by the built-in models' server at "
                     f"{served_model.removeprefix('http://').removesuffix('/v1')}").first.wait_for()
    assert page.locator(EXCEPTION).count() == 0
    assert engine_children(app_pid(url)) == []
    assert SERVED_API_KEY not in page.content()


def test_a_fleet_that_is_down_is_said_on_the_page_and_nothing_is_spawned(page, start_streamlit):
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    url = start_streamlit({BASE_URL_ENV: f"http://{host}/v1", API_KEY_ENV: "sk-fleet-down-key"})
    open_chat(page, url)
    page.get_by_text(f"The built-in model's server at {host} is not answering").first.wait_for()
    assert page.locator(EXCEPTION).count() == 0
    page.reload()  # asked again, and still never spawned
    wait_for_app_run(page, timeout=60_000)
    page.get_by_text(f"The built-in model's server at {host} is not answering").first.wait_for()
    assert engine_children(app_pid(url)) == []
    assert "sk-fleet-down-key" not in page.content() and "sk-fleet-down-key" not in url.log()
