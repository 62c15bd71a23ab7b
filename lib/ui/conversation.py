"""The conversation's own controls: export and import, and the code of the last request."""

from __future__ import annotations

import streamlit as st

from lib.chat.codegen import NOTE, python_snippet
from lib.chat.history import Message, edited_from, for_regenerate
from lib.chat.sampling import SamplingOptions
from lib.chat.transcript import TranscriptError, from_json, to_json, to_markdown
from lib.config import Endpoint
from lib.ui.context_controls import SUMMARIES
from lib.ui.system_prompt import TEXT_KEY

HISTORY = "chat_history"
IMPORT_KEY = "chat_import"
IMPORT_ERROR = "chat_import_error"


def _import_file() -> None:
    """Runs when a file is chosen, before the page is drawn: a good file replaces the
    conversation and system prompt; a bad one changes nothing and says why."""
    upload = st.session_state.get(IMPORT_KEY)
    if upload is None:
        return
    try:
        system_prompt, history = from_json(upload.getvalue())
    except TranscriptError as exc:
        st.session_state[IMPORT_ERROR] = f"{upload.name}: {exc}"
        return
    st.session_state[HISTORY] = history
    st.session_state[TEXT_KEY] = system_prompt
    st.session_state.pop(IMPORT_ERROR, None)


def clear_button() -> None:
    if st.button("Clear conversation"):
        st.session_state[HISTORY] = []
        st.session_state.pop(SUMMARIES, None)


def export_import(history: list[Message], system_prompt: str) -> None:
    """Download the conversation (JSON messages, Markdown) or load one from a JSON file."""
    with st.expander("Save or load the conversation"):
        left, right = st.columns(2)
        left.download_button("JSON", to_json(history, system_prompt), "conversation.json",
                             "application/json", disabled=not history)
        right.download_button("Markdown", to_markdown(history, system_prompt),
                              "conversation.md", "text/markdown", disabled=not history)
        st.file_uploader("Load a JSON conversation (replaces this one)", type=["json"],
                         key=IMPORT_KEY, on_change=_import_file)
        if error := st.session_state.get(IMPORT_ERROR):
            st.error(error)


def view_code(endpoint: Endpoint, model: str, messages: list[Message],
              options: SamplingOptions, streaming: bool) -> None:
    """The Python (openai SDK) that sends ``messages`` (the last request's) again, exactly."""
    with st.expander("View code: this request in Python"):
        if not model:
            st.caption("Pick a model first.")
            return
        st.code(python_snippet(endpoint, model, messages, options, stream=streaming),
                language="python")
        if streaming:
            st.caption(NOTE)


def rewind_controls(history: list[Message]) -> list[Message] | None:
    """Regenerate the last answer, or edit one of your messages and resend from there.
    Returns the conversation to answer now, or None."""
    users = [i for i, m in enumerate(history) if m["role"] == "user"]
    if not users:
        return None
    with st.expander("Regenerate or edit"):
        if history[-1]["role"] == "assistant" and st.button("↻ Regenerate the last answer",
                                                              key="chat_regenerate"):
            return for_regenerate(history)
        labels = {i: f"{n + 1}. {history[i]['content'][:60]}" for n, i in enumerate(users)}
        index = st.selectbox("Your message", users, index=len(users) - 1,
                             format_func=labels.get, key="chat_edit_pick")
        text = st.text_area("Edit it", history[index]["content"], key=f"chat_edit_{index}")
        if st.button("Resend from here", key="chat_resend", disabled=not text.strip()):
            return edited_from(history, index, text.strip())
    return None
