"""Saving and loading a conversation in the real app (Chromium): the JSON export is the
messages the model was sent, an import replaces the conversation, a bad file changes nothing."""

import json
import re

from playwright.sync_api import expect

from tests.servers.streamlit_app import EXCEPTION, open_expander, wait_for_app_run

CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'


def words(text: str) -> str:
    """The words a reader sees: Markdown's list markers, emphasis and punctuation dropped
    (an exported "1. The Louvre" is drawn as a numbered list item "The Louvre")."""
    text = re.sub(r"(?m)^\s*(\d+[.)]|[-*+])\s+", "", text)
    return " ".join(re.findall(r"[A-Za-z0-9']+", text))


def open_files_panel(page) -> None:
    open_expander(page, "Save or load the conversation")


def test_export_then_import_round_trip_and_a_bad_file_changes_nothing(streamlit_url, page, tmp_path):
    page.goto(f"{streamlit_url}/Streaming_Chat")
    wait_for_app_run(page)
    page.locator(CHAT_INPUT).fill("Name one museum in Paris.")
    page.locator(CHAT_INPUT).press("Enter")
    page.get_by_text("Finish reason").wait_for(timeout=120_000)
    wait_for_app_run(page, timeout=60_000)
    answer = page.locator(MESSAGE).nth(1).inner_text().strip()

    open_files_panel(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="JSON").click()
    exported = json.loads(open(download.value.path()).read())
    assert exported[0] == {"role": "system",
                           "content": "You help travelers make plans for their trips."}
    assert exported[1] == {"role": "user", "content": "Name one museum in Paris."}
    assert exported[2]["role"] == "assistant" and exported[2]["content"].strip()
    assert words(exported[2]["content"])  # the answer has words to compare
    assert words(exported[2]["content"]) in words(answer)  # the message also shows its metrics

    bad = tmp_path / "bad.json"
    bad.write_text('[{"role": "wizard", "content": "hi"}]')
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    page.get_by_text("bad.json:").wait_for()
    wait_for_app_run(page)
    assert page.locator(MESSAGE).nth(0).inner_text().strip().endswith("Name one museum in Paris.")

    good = tmp_path / "trip.json"
    good.write_text(json.dumps([
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Plan a day in Rome."},
        {"role": "assistant", "content": "Start at the Colosseum."},
    ]))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(good))
    page.locator(MESSAGE).get_by_text("Start at the Colosseum.").wait_for()
    wait_for_app_run(page)
    messages = page.locator(MESSAGE)
    expect(messages).to_have_count(2)  # the old conversation's messages go as the run ends
    assert "Plan a day in Rome." in messages.nth(0).inner_text()
    expect(page.get_by_text("bad.json:")).to_have_count(0)
    expect(page.locator("textarea").filter(has_text="You are a helpful assistant.")).to_have_count(1)
    assert page.locator(EXCEPTION).count() == 0
