"""Classroom mode when things go wrong, and what must never be kept: a typed key never
reaches the store or a shared link; a damaged, foreign or full store is a clear message and
the app goes on in memory; a shared setup opens the same page for someone else."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from lib.persistence.setup_link import unpack
from tests.browser.test_builtin_robustness import answer_text, send
from tests.browser.test_classroom_saved import MESSAGE, SIDEBAR, open_page, reload, system_prompt
from tests.servers.processes import free_port
from tests.servers.streamlit_app import (EXCEPTION, new_watched_page, open_expander, rerun_after,
                                        wait_for_app_run, wait_until_still)

CANARY = "sk-canary-typed-7f3e91c0b5d2"
STORE_NOTE = '[data-testid="stAlert"]'


def pick_model(page, name: str) -> None:
    """Pick `name` in the sidebar's Model box (found by its label, not its place)."""
    box = page.locator(f"{SIDEBAR} [data-testid='stSelectbox']").filter(
        has=page.get_by_text("Model", exact=True))
    box.wait_for(timeout=60_000)
    if box.get_by_role("combobox").input_value() == name:
        return  # already picked: choosing it again starts no run
    box.click()
    wait_until_still(page)  # the list has slid in: a click on a moving option may not land
    # A replica's first pick loads the provider's prices and tokenizer: slow on a busy machine.
    rerun_after(page, lambda: page.get_by_role("option", name=name, exact=True).click(),
                timeout=60_000)


def open_on_openai(start_streamlit, page, store: Path):
    """An app saving into ``store``, its chat page open on the OpenAI preset (no key set)."""
    url = start_streamlit({"LAB_STORE_URL": f"sqlite:///{store}"})
    open_page(page, url)
    page.locator(f"{SIDEBAR} [data-testid='stSelectbox']").nth(0).click()
    page.get_by_role("option", name=re.compile(r"^OpenAI —")).click()
    wait_for_app_run(page)
    return url


def store_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # -wal, -shm too


def test_a_typed_key_reaches_neither_the_store_nor_a_shared_link(start_streamlit, page, tmp_path):
    store = tmp_path / "sessions.sqlite3"
    url = open_on_openai(start_streamlit, page, store)
    field = page.locator(SIDEBAR).get_by_role("textbox", name="OpenAI API key", exact=True)
    field.fill(CANARY)
    field.press("Enter")
    wait_for_app_run(page)
    # api.openai.com is out of reach here: the request fails, and the conversation (with
    # the error) is saved as always.
    send(page, "Hello with my own key.")
    page.locator(MESSAGE).nth(1).locator('[data-testid="stAlert"]').wait_for(timeout=60_000)
    wait_for_app_run(page, timeout=60_000)
    assert b"Hello with my own key." in store_bytes(store)  # the conversation is saved…
    assert CANARY.encode() not in store_bytes(store)  # …the key is not

    page.get_by_role("button", name="Share this setup").click()
    link = page.get_by_role("dialog").locator('[data-testid="stCode"]').inner_text().strip()
    assert CANARY not in link and "Hello with my own key" not in link
    shared = unpack(parse_qs(urlparse(link).query)["setup"][0])
    assert CANARY not in repr(shared) and "chat_history" not in shared

    reload(page)  # the key was for that tab only: asked again, the conversation kept
    expect(page.locator(MESSAGE)).to_have_count(2)
    expect(page.locator(SIDEBAR).get_by_role("textbox", name="OpenAI API key")).to_have_value("")
    assert CANARY not in url.log()


def test_a_shared_setup_opens_the_same_page_for_someone_else(streamlit_url, page, browser):
    open_page(page, streamlit_url)
    system_prompt(page).fill("You are a patient Python tutor.")
    system_prompt(page).press("Control+Enter")
    wait_for_app_run(page)
    open_expander(page.locator(SIDEBAR), "Sampling")
    tokens = page.get_by_label("max_tokens", exact=True)
    tokens.fill("123")
    tokens.press("Enter")
    wait_for_app_run(page)
    send(page, "A question only I asked.")
    page.get_by_text("Time to first token").wait_for(timeout=90_000)
    wait_for_app_run(page, timeout=60_000)

    page.get_by_role("button", name="Share this setup").click()
    dialog = page.get_by_role("dialog")
    link = dialog.locator('[data-testid="stCode"]').inner_text().strip()
    assert link.startswith(f"{streamlit_url}/Streaming_Chat?setup=")
    qr = dialog.locator("img")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") >= 150  # a real, scannable picture

    student = new_watched_page(browser, timeout=30_000)
    try:
        student.goto(link)
        wait_for_app_run(student, timeout=90_000)
        expect(student.get_by_text("Opened a shared setup")).to_be_visible()
        expect(system_prompt(student)).to_have_value("You are a patient Python tutor.")
        open_expander(student.locator(SIDEBAR), "Sampling")
        expect(student.get_by_label("max_tokens", exact=True)).to_have_value("123")
        assert student.locator(MESSAGE).count() == 0  # the setup, not the conversation
        assert "setup=" not in student.url  # applied once: a reload keeps the student's changes
        system_prompt(student).fill("Mine now.")
        rerun_after(student, lambda: system_prompt(student).press("Control+Enter"))
        reload(student)
        expect(system_prompt(student)).to_have_value("Mine now.")

        student.goto(link[:-12])  # a link cut short when pasted
        wait_for_app_run(student, timeout=60_000)
        expect(student.get_by_text("This setup link is damaged")).to_be_visible()
        assert student.locator(EXCEPTION).count() == 0
    finally:
        student.context.close()


def _chat_goes_on_with_a_store_note(page, url: str, words: str) -> None:
    open_page(page, url)
    expect(page.locator(STORE_NOTE).filter(has_text=words)).to_be_visible()
    send(page, "Still there?")
    page.get_by_text("Time to first token").wait_for(timeout=90_000)
    wait_for_app_run(page, timeout=60_000)
    assert answer_text(page, 1).strip()
    assert page.locator(EXCEPTION).count() == 0


def test_a_damaged_store_is_a_message_and_the_app_goes_on(start_streamlit, page, tmp_path):
    store = tmp_path / "sessions.sqlite3"
    store.write_bytes(os.urandom(64 * 1024))
    store.chmod(0o600)
    url = start_streamlit({"LAB_STORE_URL": f"sqlite:///{store}"})
    _chat_goes_on_with_a_store_note(page, url, "damaged")
    assert "Traceback" not in url.log()


def test_a_store_owned_by_another_user_is_refused_with_a_message(start_streamlit, page, tmp_path):
    folder = tmp_path / "store"
    folder.mkdir(mode=0o700)
    store = folder / "sessions.sqlite3"
    store.write_bytes(b"")
    os.chown(store, 65534, 65534)  # nobody's (the tests run as root)
    url = start_streamlit({"LAB_STORE_URL": f"sqlite:///{store}"})
    _chat_goes_on_with_a_store_note(page, url, "can't be used")
    assert "Traceback" not in url.log()


def test_a_full_store_keeps_the_conversation_in_the_tab(start_streamlit, fault_server, page, tmp_path):
    url = start_streamlit({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": "sk-test",
                           "LAB_STORE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
                           "LAB_STORE_MAX_MB": "0.1"})
    open_page(page, url)
    pick_model(page, "ok")
    big = "A long question. " * 6000  # ~100 kB: more than the store may hold
    send(page, big)
    page.get_by_text("Hello from the fault server.").wait_for(timeout=30_000)
    wait_for_app_run(page)
    send(page, "And a short one.")  # the note comes with the next run drawn
    page.locator(MESSAGE).nth(3).get_by_text("Hello from the fault server.").wait_for(timeout=30_000)
    wait_for_app_run(page)
    expect(page.locator(STORE_NOTE).filter(has_text="full")).to_be_visible()
    expect(page.locator(MESSAGE)).to_have_count(4)
    assert page.locator(EXCEPTION).count() == 0
    assert "Traceback" not in url.log()


def test_a_value_too_big_to_keep_is_said_and_everything_else_is_kept(streamlit_url, page):
    open_page(page, streamlit_url)
    send(page, "A small question.")
    page.get_by_text("Time to first token").wait_for(timeout=90_000)
    wait_for_app_run(page, timeout=60_000)
    huge = "Answer like a pirate. " * 100_000  # 2.2 MB of system prompt
    system_prompt(page).fill(huge)
    system_prompt(page).press("Control+Enter")
    wait_for_app_run(page, timeout=60_000)
    expect(page.get_by_text("The system prompt is too big to keep across a reload")).to_be_visible()
    assert len(system_prompt(page).input_value()) == len(huge)  # kept in the tab
    reload(page)
    expect(page.locator(MESSAGE)).to_have_count(2)  # the conversation was saved all the same
    expect(system_prompt(page)).to_have_value("You help travelers make plans for their trips.")
    assert page.locator(EXCEPTION).count() == 0


def test_a_typed_url_with_a_password_is_never_saved_or_shown(start_streamlit, page, tmp_path):
    store = tmp_path / "sessions.sqlite3"
    url = open_on_openai(start_streamlit, page, store)
    typed = f"http://student:pw-{CANARY}@127.0.0.1:{free_port()}/v1"  # nothing listens there
    field = page.locator(SIDEBAR).get_by_role("textbox", name="Base URL", exact=True)
    field.fill(typed)
    field.press("Enter")
    wait_for_app_run(page)
    send(page, "Anyone there?")  # to the model the sidebar offers first
    error = page.locator(MESSAGE).nth(1).locator('[data-testid="stAlert"]')
    error.wait_for(timeout=60_000)
    wait_for_app_run(page, timeout=60_000)
    assert "127.0.0.1" in error.inner_text()  # the student sees where it went…
    assert CANARY not in page.locator("body").inner_text()  # …never the password (but in its box)
    assert b"Anyone there?" in store_bytes(store)
    assert CANARY.encode() not in store_bytes(store)
    assert CANARY not in url.log()
