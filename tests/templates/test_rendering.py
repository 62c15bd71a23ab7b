"""Each family's real template, rendered by the lab, against transformers' own apply_chat_template
on a freshly loaded tokenizer from the same vendored files, and against the lecture's text."""

from __future__ import annotations

import pytest

from lib.templates.conversation import LECTURE_MESSAGES
from lib.templates.families import FAMILIES
from lib.templates.rendering import family_chat_template, render_with_family
from lib.templates.vendored_tokenizers import unpacked_folder

LECTURE = [dict(m) for m in LECTURE_MESSAGES]
CONVERSATIONS = {
    "lecture": LECTURE,
    "no system": LECTURE[1:],
    "one user turn": [{"role": "user", "content": "How many 'r's in Strawberry? 🍓  \n\ttabs"}],
}
# The lecture's slide "Chat Templates in Practice", character for character.
LECTURE_CHATML = (
    "<|im_start|>system\nYou help travelers make plans for their trips<|im_end|>\n<|im_start|>user\n"
    "Hello<|im_end|>\n<|im_start|>assistant\nHi there!<|im_end|>\n<|im_start|>user\nWhat should I do "
    "on my upcoming trip to Paris?<|im_end|>\n<|im_start|>assistant\n"
)


@pytest.fixture(scope="module")
def reference_tokenizers(tmp_path_factory):
    """Tokenizers loaded straight by transformers, apart from the lab's cache and locks."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("reference")
    return {fid: AutoTokenizer.from_pretrained(unpacked_folder(family, folder), local_files_only=True)
            for fid, family in FAMILIES.items()}


@pytest.mark.parametrize("generation_prompt", [True, False])
@pytest.mark.parametrize("conversation", list(CONVERSATIONS))
@pytest.mark.parametrize("family_id", list(FAMILIES))
def test_rendered_like_apply_chat_template(family_id, conversation, generation_prompt,
                                           reference_tokenizers):
    messages = CONVERSATIONS[conversation]
    reference = reference_tokenizers[family_id]
    prompt = render_with_family(family_id, messages, generation_prompt)
    assert not prompt.error
    assert prompt.text == reference.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=generation_prompt)
    ids = reference.apply_chat_template(messages, tokenize=True,
                                        add_generation_prompt=generation_prompt)["input_ids"]
    assert [token.id for token in prompt.tokens] == ids
    assert "".join(token.text for token in prompt.tokens) == prompt.text


def test_chatml_renders_the_lecture_slide_exactly():
    assert render_with_family("chatml", LECTURE).text == LECTURE_CHATML


def test_generation_prompt_is_the_assistant_header():
    on = render_with_family("chatml", LECTURE, add_generation_prompt=True).text
    off = render_with_family("chatml", LECTURE, add_generation_prompt=False).text
    assert on == off + "<|im_start|>assistant\n"


@pytest.mark.parametrize("family_id, marker, marker_id", [
    ("chatml", "<|im_start|>", 151644),
    ("llama3", "<|start_header_id|>", 128006),
    ("mistral", "[INST]", 3),
    ("gemma", "<start_of_turn>", 105),
])
def test_chat_markers_are_single_special_tokens(family_id, marker, marker_id):
    prompt = render_with_family(family_id, LECTURE)
    markers = [t for t in prompt.tokens if t.text == marker]
    assert markers and all(t.id == marker_id and t.special for t in markers)
    assert not any(t.special for t in prompt.tokens if t.text in ("Hello", "user", " Paris"))


def test_gemma_has_no_system_role_and_folds_it_into_the_first_user_turn():
    text = render_with_family("gemma", LECTURE).text
    assert "system" not in text
    assert "<start_of_turn>user\nYou help travelers make plans for their trips\n\nHello<end_of_turn>" in text
    assert "<start_of_turn>model\nHi there!" in text  # the assistant is called "model"


def test_mistral_glues_the_system_prompt_to_the_last_user_message():
    text = render_with_family("mistral", LECTURE).text
    assert text.startswith("<s>[INST]Hello[/INST]Hi there!</s>")
    assert text.endswith("[INST]You help travelers make plans for their trips\n\n"
                         "What should I do on my upcoming trip to Paris?[/INST]")


@pytest.mark.parametrize("family_id", ["gemma", "mistral"])
def test_a_misplaced_system_prompt_is_the_templates_own_error(family_id):
    second = [LECTURE[1], LECTURE[0], *LECTURE[2:]]
    prompt = render_with_family(family_id, second)
    assert prompt.error.startswith(f"The {FAMILIES[family_id].label} template refuses this conversation")
    assert "alternate user/assistant" in prompt.error  # raise_exception's text, from the template
    assert not prompt.text and not prompt.tokens


def test_a_second_system_prompt_mistral_refuses_gemma_lets_through():
    extra = [*LECTURE, {"role": "system", "content": "Answer in French."}]
    assert "Only user and assistant roles are supported" in render_with_family("mistral", extra).error
    gemma = render_with_family("gemma", extra)  # in the assistant's slot, it passes the turn check
    assert not gemma.error and "<start_of_turn>system\nAnswer in French.<end_of_turn>" in gemma.text


def test_chatml_renders_a_second_system_prompt_where_it_is():
    extra = [*LECTURE, {"role": "system", "content": "Answer in French."}]
    prompt = render_with_family("chatml", extra)
    assert not prompt.error
    assert prompt.text.count("<|im_start|>system\n") == 2


def test_each_family_shows_its_own_jinja():
    assert "raise_exception" in family_chat_template("gemma")
    assert "<|im_start|>" in family_chat_template("chatml")
    assert family_chat_template("llama3") != family_chat_template("chatml")


@pytest.mark.parametrize("family_id", ["chatml", "llama3", "mistral"])
def test_an_empty_conversation_is_an_error_message_not_an_exception(family_id):
    prompt = render_with_family(family_id, [])
    assert prompt.error.startswith("transformers can't render this conversation")
    assert "empty" in prompt.error and not prompt.text
