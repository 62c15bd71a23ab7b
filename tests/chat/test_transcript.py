"""Export and import of a conversation: JSON round trips, Markdown reads, and a bad file gets
one clear line and changes nothing."""

import copy
import json

import pytest
from hypothesis import given, settings, strategies as st

from lib.chat.history import mark_unsent
from lib.chat.transcript import MAX_BYTES, TranscriptError, from_json, to_json, to_markdown

SYSTEM = "You help travelers make plans for their trips."
HISTORY = [
    {"role": "user", "content": "What should I do in Paris?"},
    {"role": "assistant", "content": "See the Louvre.\n\n- Walk the *Seine*"},
    {"role": "user", "content": 'Say "merci" — ünïcödé 😀'},
    {"role": "assistant", "content": "Merci", "error": "The stream was cut off."},
]


def test_json_round_trip_gives_the_same_system_prompt_and_messages():
    exported = to_json(HISTORY, SYSTEM)
    assert json.loads(exported)[0] == {"role": "system", "content": SYSTEM}
    system, history = from_json(exported)
    assert system == SYSTEM
    assert history == [{"role": m["role"], "content": m["content"]} for m in HISTORY]


def test_json_is_what_the_model_is_sent_partial_answers_included():
    refused = {"role": "user", "content": "Over the cap"}
    mark_unsent(refused, "Request cap reached")
    history = [
        {"role": "user", "content": "First"},
        {"role": "assistant", "content": "", "error": "401"},  # failed before a token
        refused,
        {"role": "user", "content": "Second"},
        {"role": "assistant", "content": "Partial", "error": "cut off"},
    ]
    assert json.loads(to_json(history, "  Be brief. ")) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Second"},
        {"role": "assistant", "content": "Partial"},
    ]
    assert from_json(to_json(history)) == ("", [{"role": "user", "content": "Second"},
                                                {"role": "assistant", "content": "Partial"}])


def test_imports_bytes_with_a_bom_and_ignores_extra_keys():
    data = [{"role": "user", "content": "Hi", "name": "ada"}]
    system, history = from_json(b"\xef\xbb\xbf" + json.dumps(data).encode())
    assert (system, history) == ("", [{"role": "user", "content": "Hi"}])


def test_markdown_has_each_message_under_its_role_and_errors_in_italics():
    refused = {"role": "user", "content": "Over the cap"}
    mark_unsent(refused, "Request cap\nreached")
    markdown = to_markdown([*HISTORY, refused], SYSTEM)
    assert markdown.startswith("# Conversation")
    assert f"## System\n\n{SYSTEM}" in markdown
    for message in HISTORY:
        assert f"## {message['role'].capitalize()}\n\n{message['content']}" in markdown
    assert "*Error: The stream was cut off.*" in markdown
    assert "*Not sent: Request cap reached*" in markdown


def test_exports_leave_the_history_as_it_was():
    history = copy.deepcopy(HISTORY)
    to_json(history, SYSTEM)
    to_markdown(history, SYSTEM)
    assert history == HISTORY


def message(role="user", content="Hi"):
    return {"role": role, "content": content}


MALFORMED = {
    "not json": ("{'role': 'user'}", "Not JSON: "),
    "truncated json": ('[{"role": "user"', "Not JSON: "),
    "nested too deeply": ("[" * 100_000, "nested too deeply"),
    "not a list": (json.dumps(message()), "Expected a JSON list of messages"),
    "empty list": ("[]", "The list is empty"),
    "item not an object": (json.dumps([message(), "hello"]), "Message 2 is a string, not an object"),
    "missing role": (json.dumps([{"content": "Hi"}]), 'Message 1 has no "role".'),
    "unknown role": (json.dumps([message("tool")]),
                     'Message 1 has role "tool"; the role must be one of system, user, assistant.'),
    "role not a string": (json.dumps([{"role": 3, "content": "x"}]), "Message 1 has role 3;"),
    "missing content": (json.dumps([{"role": "user"}]), 'Message 1 has no "content".'),
    "content not a string": (json.dumps([message(), {"role": "assistant", "content": 42}]),
                             'Message 2 has a number as "content"; it must be a string.'),
    "content a list of parts": (json.dumps([{"role": "user", "content": [{"type": "text"}]}]),
                                'Message 1 has a list as "content"'),
    "content null": (json.dumps([{"role": "user", "content": None}]), 'has null as "content"'),
    "system not first": (json.dumps([message(), message("system", "Be brief.")]),
                         "The system message must come first; it is message 2."),
    "two system messages": (json.dumps([message("system"), message(), message("system")]),
                            "More than one system message (messages 1 and 3)"),
    "over 1 MB": (json.dumps([message(content="x" * MAX_BYTES)]), "at most 1 MB"),
    "over 1 MB as bytes": (b" " * (MAX_BYTES + 1), "at most 1 MB"),
    "not utf-8": (b'[{"role": "user", "content": "\xff"}]', "not UTF-8"),
}


@pytest.mark.parametrize("text, expected", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_file_gets_one_clear_line(text, expected):
    with pytest.raises(TranscriptError) as caught:
        from_json(text)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
    assert isinstance(caught.value, ValueError)


def test_a_system_prompt_alone_imports_with_an_empty_history():
    assert from_json(json.dumps([message("system", "Be brief.")])) == ("Be brief.", [])


texts = st.text(st.characters(blacklist_categories=()))
turns = st.lists(st.tuples(texts, texts.filter(str.strip)), min_size=1, max_size=4)


@settings(max_examples=200, deadline=None)
@given(system=texts, turns=turns)
def test_any_text_survives_a_json_round_trip(system, turns):
    history = [m for question, answer in turns
               for m in (message("user", question), message("assistant", answer))]
    assert from_json(to_json(history, system)) == (system.strip(), history)
