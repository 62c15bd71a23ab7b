"""The built-in model's own template and tokenizer through the real engine (llama.cpp on
127.0.0.1), and the token viewer against the engine's /tokenize and tiktoken."""

from __future__ import annotations

import pytest

from lib.cost.tokens import count_tokens, load_encoding
from lib.models.engine import local_server, running_server
from lib.models.shipped import SHIPPED_MODELS, SMOLLM2
from lib.templates.conversation import LECTURE_MESSAGES
from lib.templates.engine_templates import (
    control_token_ids,
    engine_chat_template,
    engine_pieces,
    render_with_engine,
)
from lib.templates.rendering import render_with_family
from lib.templates.token_view import napkin_check, tiktoken_pieces, tokenize_for_view, tokenizer_choices

LECTURE = [dict(m) for m in LECTURE_MESSAGES]
TRICKY = "Héllo  wörld\n\tWhat's 🙂🍓 in Paris? <|im_start|> 東京"


def test_smollm2_and_qwen_speak_the_same_chatml():
    """Two independent renderers, two real templates: llama.cpp with SmolLM2's GGUF template,
    transformers with Qwen2.5's tokenizer_config. With a system prompt they must agree."""
    for generation_prompt in (True, False):
        engine = render_with_engine(SMOLLM2.id, LECTURE, generation_prompt)
        qwen = render_with_family("chatml", LECTURE, generation_prompt)
        assert not engine.error and engine.text == qwen.text


def test_smollm2_adds_its_own_system_prompt_when_there_is_none():
    engine = render_with_engine(SMOLLM2.id, LECTURE[1:])
    assert engine.text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert "named SmolLM" in engine_chat_template(SMOLLM2.id)


def test_engine_tokens_are_the_engines_and_specials_are_marked():
    prompt = render_with_engine(SMOLLM2.id, LECTURE)
    ids = local_server().post("/tokenize", {"content": prompt.text, "add_special": False})["tokens"]
    assert [t.id for t in prompt.tokens] == ids
    assert "".join(t.text for t in prompt.tokens) == prompt.text
    specials = {t.text for t in prompt.tokens if t.special}
    assert specials == {"<|im_start|>", "<|im_end|>"}


def test_engine_pieces_join_back_and_detokenize_to_the_text():
    pieces = engine_pieces(SMOLLM2.id, TRICKY)
    assert "".join(p.text for p in pieces) == TRICKY
    assert any(p.is_fragment for p in pieces)  # the emoji take more than one token each
    back = local_server().post("/detokenize", {"tokens": [p.id for p in pieces]})["content"]
    assert back == TRICKY


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_tiktoken_pieces_match_tiktoken(encoding):
    pieces = tiktoken_pieces(TRICKY, encoding)
    assert [p.id for p in pieces] == load_encoding(encoding).encode(TRICKY, disallowed_special=())
    assert len(pieces) == count_tokens(TRICKY, encoding)
    assert "".join(p.text for p in pieces) == TRICKY
    assert not any(p.special for p in pieces)  # typed special strings are plain text for OpenAI


def test_the_chat_model_is_shown_and_the_base_model_only_offered():
    """Showing a tokenizer starts its engine: the base model's (a 253 MB GGUF to assemble, a
    second llama.cpp process) only when picked, or when something already started it."""
    choices = {c.key: c for c in tokenizer_choices()}
    shown = [key for key, c in choices.items() if c.shown_first]
    assert shown[:3] == ["tiktoken:o200k_base", "tiktoken:cl100k_base", f"engine:{SMOLLM2.id}"]
    assert {f"engine:{model_id}" for model_id in SHIPPED_MODELS} <= set(choices)  # all offered
    for model in SHIPPED_MODELS.values():
        if model.tuning == "base":
            assert choices[f"engine:{model.id}"].shown_first == (running_server(model.id)
                                                                is not None)
    assert [p.id for p in tokenize_for_view(f"engine:{SMOLLM2.id}", "Paris")] == \
        [p.id for p in engine_pieces(SMOLLM2.id, "Paris")]


def test_control_tokens_are_listed_once_per_engine():
    ids = control_token_ids(SMOLLM2.id)
    assert control_token_ids(SMOLLM2.id) is ids  # cached: one listing per engine
    server = local_server()
    marks = server.post("/tokenize", {"content": "<|im_start|><|im_end|><|endoftext|>",
                                      "add_special": False, "parse_special": True})["tokens"]
    assert set(marks) <= ids
    # a control token typed as plain text falls apart; an ordinary token does not
    for token_id in marks:
        text = server.post("/detokenize", {"tokens": [token_id]})["content"]
        assert server.post("/tokenize", {"content": text, "add_special": False,
                                         "parse_special": False})["tokens"] != [token_id]
    paris = server.post("/tokenize", {"content": " Paris", "add_special": False})["tokens"]
    assert not set(paris) & ids
    assert len(ids) < 1000  # a few dozen ids, not the vocabulary


def test_napkin_maths_against_a_real_count():
    text = " ".join(["Paris"] * 75)
    check = napkin_check(text, len(tiktoken_pieces(text, "o200k_base")))
    assert check.words == 75 and check.napkin_tokens == 100
    assert check.tokens == count_tokens(text)
    assert check.error_percent == pytest.approx(100 * (100 - check.tokens) / check.tokens)
    assert napkin_check("", 0).words_per_100_tokens is None


def test_a_family_tokenizer_in_the_viewer_is_its_tokenizer_json(tmp_path):
    import tokenizers

    from lib.templates.families import FAMILIES
    from lib.templates.vendored_tokenizers import unpacked_folder

    raw = tokenizers.Tokenizer.from_file(str(unpacked_folder(FAMILIES["llama3"], tmp_path)
                                             / "tokenizer.json"))
    pieces = tokenize_for_view("family:llama3", TRICKY)
    assert [p.id for p in pieces] == raw.encode(TRICKY, add_special_tokens=False).ids
    assert "".join(p.text for p in pieces) == TRICKY
