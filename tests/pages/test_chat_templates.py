"""The chat-templates page under AppTest: real vendored templates, the real built-in engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.cost.tokens import count_tokens
from lib.ui.token_viewer import SAMPLE_TEXT

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app_pages/3_Chat_Templates.py")


@pytest.fixture
def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "family:gemma" not in at.multiselect(key="tpl_sources").value  # opt-in: memory
    at.multiselect(key="tpl_sources").select("family:gemma").run()
    return at


def shown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def rows(at: AppTest) -> list[tuple[str, str]]:
    roles = [s.value for s in at.selectbox if s.key and s.key.startswith("tpl_role_")]
    contents = [t.value for t in at.text_area if t.key and t.key.startswith("tpl_content_")]
    return list(zip(roles, contents, strict=True))


def click(at: AppTest, key_prefix: str, index: int = 0) -> AppTest:
    buttons = [b for b in at.button if b.key and b.key.startswith(key_prefix)]
    buttons[index].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_family_and_the_built_in_model_render_the_lecture_example(page):
    text = shown(page)
    for title in ("ChatML (Qwen2.5 tokenizer)", "Llama 3 (Llama 3.2 Instruct tokenizer)",
                  "Mistral (Mistral Nemo Instruct tokenizer)", "Gemma (Gemma 3 tokenizer)",
                  "SmolLM2-135M-Instruct (its own template, from the engine)"):
        assert title in text
    assert "&lt;|im_start|&gt;" in text and "&lt;start_of_turn&gt;" in text
    assert not page.error and not page.warning  # the lecture's example follows every rule


def test_reorder_remove_and_add_rows(page):
    assert rows(page)[0][0] == "system"
    at = click(page, "tpl_down_")  # the system prompt moves below "Hello"
    assert [r for r, _ in rows(at)][:2] == ["user", "system"]
    assert any("not first" in w.value for w in at.warning)
    errors = [e.value for e in at.error]
    assert any(e.startswith("The Gemma template refuses") for e in errors)
    assert any(e.startswith("The Mistral template refuses") for e in errors)
    at = click(at, "tpl_up_", 1)  # and back up: the rules hold again
    assert [r for r, _ in rows(at)][:2] == ["system", "user"] and not at.error
    at = click(at, "tpl_delete_", 0)
    assert [r for r, _ in rows(at)] == ["user", "assistant", "user"]
    at = click(at, "tpl_add_user")  # a second user message in a row
    assert rows(at)[-1] == ("user", "")
    assert any("in a row" in w.value for w in at.warning)


def test_edited_text_reaches_every_template(page):
    [t for t in page.text_area if t.key.startswith("tpl_content_")][1].set_value("Bonjour Lyon")
    page.run()
    rendered = rendered_strings(page)
    assert len(rendered) == 5 and all("Bonjour Lyon" in r for r in rendered)
    code = [c.value for c in page.code if "apply_chat_template(" in c.value]
    assert len(code) == 4 and all('"Bonjour Lyon"' in c for c in code)


def test_two_system_prompts_preset_shows_the_rule_and_mistrals_error(page):
    at = click(page, "tpl_preset_Two system prompts")
    assert any("2 system prompts" in w.value for w in at.warning)
    errors = [e.value for e in at.error]
    assert errors == ["The Mistral template refuses this conversation: Only user and assistant "
                      "roles are supported, with the exception of an initial optional system "
                      "message!"]


def rendered_strings(at: AppTest) -> list[str]:
    # "As a Python string": a repr, so it starts with a quote (the transformers code doesn't)
    return [c.value for c in at.code if c.language == "python" and c.value[:1] in "'\""]


def test_generation_prompt_toggle(page):
    headers = ("<|im_start|>assistant\\n'", "<|start_header_id|>assistant<|end_header_id|>\\n\\n'",
               "<start_of_turn>model\\n'")
    ends = [r for r in rendered_strings(page) if r.endswith(headers)]
    assert len(ends) == 4  # ChatML, Llama 3, Gemma and the built-in model (Mistral has no header)
    page.toggle(key="tpl_generation_prompt").set_value(False).run()
    assert not [r for r in rendered_strings(page) if r.endswith(headers)]


def test_token_ids_toggle_shows_the_ids(page):
    page.toggle(key="tpl_ids").set_value(True).run()
    assert any("151644" in c.value for c in page.code)  # <|im_start|> in Qwen2.5's vocabulary


def test_token_viewer_counts_are_the_real_counts(page):
    counts = [m.value for m in page.metric if m.label == "Tokens"]
    assert counts[0] == str(count_tokens(SAMPLE_TEXT, "o200k_base"))
    assert counts[1] == str(count_tokens(SAMPLE_TEXT, "cl100k_base"))
    page.text_area(key="tv_text").set_value("one two three").run()
    counts = [m.value for m in page.metric if m.label == "Tokens"]
    picked = page.multiselect(key="tv_picked").value
    assert "engine:SmolLM2-135M-Instruct" in picked  # the built-in model counts too
    # (a base model's engine shows by default only if another page already started it)
    assert counts[:2] == ["3", "3"] and len(counts) == len(picked)


def test_opening_the_page_starts_no_base_model_engine():
    """st.tabs runs every tab: a base model's tokenizer shown by default would assemble its
    GGUF and start a second engine for everyone who merely opens the page."""
    from lib.models.engine import running_server, stop_local_servers
    from lib.models.shipped import SHIPPED_MODELS, SMOLLM2

    stop_local_servers()
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert running_server(SMOLLM2.id) is not None  # the built-in chat model is shown
    for model in SHIPPED_MODELS.values():
        if model.tuning == "base":
            assert running_server(model.id) is None
            assert model.label in at.multiselect(key="tv_picked").options  # one click away
            assert f"engine:{model.id}" not in at.multiselect(key="tv_picked").value
            assert f"engine:{model.id}" not in at.multiselect(key="tpl_sources").value


def test_removing_every_row_leaves_an_empty_conversation_and_no_crash(page):
    at = page
    while rows(at):
        at = click(at, "tpl_delete_", 0)
    assert any("The conversation is empty" in w.value for w in at.warning)
    assert not rendered_strings(at) and not at.error
    at = click(at, "tpl_add_user")
    at.text_area(key=[t.key for t in at.text_area if t.key.startswith("tpl_content_")][0]) \
        .set_value("Paris?").run()
    assert not at.exception
    assert len(rendered_strings(at)) == 5 and all("Paris?" in r for r in rendered_strings(at))


def test_each_family_shows_its_licence_and_why_two_are_missing(page):
    captions = "\n".join(c.value for c in page.caption)
    assert "Llama 3.2 Community License · Built with Llama" in captions
    for family in ("Apache-2.0 (Qwen2.5)", "Apache-2.0 (Mistral Nemo)", "Gemma Terms of Use"):
        assert family in captions
    assert "Also used by: SmolLM2" in captions
    assert "Llama 2 and Phi-3 are not here" in shown(page)


def test_each_column_shows_the_jinja_it_came_from(page):
    jinja = [c.value for c in page.code if c.language == "jinja2"]
    assert len(jinja) == 5
    assert any("raise_exception" in j and "<start_of_turn>" in j for j in jinja)  # Gemma's
    assert any("named SmolLM" in j for j in jinja)  # the GGUF's own, from /props


def test_an_engine_that_cannot_start_leaves_the_rest_of_the_page_working(monkeypatch):
    from lib.models.engine import stop_local_servers

    stop_local_servers()  # so the page has to start it, with a setting it can't use
    monkeypatch.setenv("LAB_LOCAL_THREADS", "lots")
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("The engine could not render this") and "LAB_LOCAL_THREADS" in e
               for e in errors)
    assert any("can't tokenize right now" in e and "LAB_LOCAL_THREADS" in e for e in errors)
    assert "ChatML (Qwen2.5 tokenizer)" in shown(at)  # the vendored families still render
    assert [m.value for m in at.metric if m.label == "Tokens"][:2] == [
        str(count_tokens(SAMPLE_TEXT, "o200k_base")), str(count_tokens(SAMPLE_TEXT, "cl100k_base"))]
