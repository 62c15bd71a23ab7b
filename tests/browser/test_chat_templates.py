"""The chat-templates page in Chromium on the real app: the families render side by side, a
misplaced system prompt brings the templates' own errors, the token viewer counts live."""

from __future__ import annotations

from lib.cost.tokens import count_tokens
from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run


def test_templates_side_by_side_then_a_misplaced_system_prompt(streamlit_url, page):
    page.goto(f"{streamlit_url}/Chat_Templates")
    wait_for_app_run(page, timeout=120_000)
    for title in ("ChatML (Qwen2.5 tokenizer)", "Mistral (Mistral Nemo Instruct tokenizer)",
                  "SmolLM2-135M-Instruct (its own template, from the engine)"):
        page.get_by_text(title).wait_for()
    special = page.locator('span[title="id 151644 (special)"]')  # <|im_start|>, Qwen2.5's id
    special.first.wait_for(timeout=120_000)  # under load the tokenizer may still be loading
    wait_for_app_run(page, timeout=120_000)
    assert special.count() == 5 and special.first.inner_text() == "<|im_start|>"
    page.get_by_text("Llama 3.2 Community License · Built with Llama").wait_for()

    page.get_by_role("button", name="System prompt second").click()
    page.get_by_text("The Mistral template refuses this conversation").wait_for(timeout=60_000)
    page.get_by_text("it has to come first in the conversation").wait_for()
    assert page.locator(EXCEPTION).count() == 0


def test_token_viewer_counts_what_is_typed(streamlit_url, page):
    page.goto(f"{streamlit_url}/Chat_Templates")
    wait_for_app_run(page, timeout=120_000)
    page.get_by_role("tab", name="Token viewer").click()
    text = "Mary had a little lamb, its fleece was white as snow"
    box = page.get_by_label("Text to tokenize")
    box.fill(text)
    box.press("Control+Enter")
    expected = str(count_tokens(text, "o200k_base"))
    tokens = page.locator('[data-testid="stMetric"]').filter(has_text="Tokens")
    tokens.first.filter(has_text=expected).wait_for(timeout=60_000)
    wait_for_app_run(page, timeout=60_000)  # the rerun goes on to the built-in model's tokens
    assert page.locator('span[title^="id "]').filter(has_text="lamb").count() >= 3  # one per tokenizer
    assert page.locator(EXCEPTION).count() == 0
