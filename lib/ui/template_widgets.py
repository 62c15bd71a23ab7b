"""Widgets of the chat-templates page: the conversation editor and one rendered prompt."""

from __future__ import annotations

import streamlit as st

from lib.templates.conversation import (
    LECTURE_MESSAGES,
    ROLES,
    as_messages,
    moved,
    new_row,
    removed,
    rows_from_messages,
)
from lib.templates.engine_templates import EngineUnavailable
from lib.templates.rendering import RenderedPrompt
from lib.templates.sources import TemplateSource
from lib.templates.token_html import tokens_html

ROWS_KEY = "tpl_rows"

PRESETS = {
    "The lecture's example": LECTURE_MESSAGES,
    "No system prompt": LECTURE_MESSAGES[1:],
    "System prompt second": (LECTURE_MESSAGES[1], LECTURE_MESSAGES[0], *LECTURE_MESSAGES[2:]),
    "Two system prompts": (*LECTURE_MESSAGES, {"role": "system", "content": "Answer in French."}),
}


def _rows() -> list[dict]:
    return st.session_state.setdefault(ROWS_KEY, rows_from_messages(LECTURE_MESSAGES))


def _index_of(uid: int) -> int:
    return next(i for i, row in enumerate(_rows()) if row["uid"] == uid)


def _move(uid: int, offset: int) -> None:
    st.session_state[ROWS_KEY] = moved(_rows(), _index_of(uid), offset)


def _remove(uid: int) -> None:
    st.session_state[ROWS_KEY] = removed(_rows(), _index_of(uid))


def _add(role: str) -> None:
    _rows().append(new_row(role))


def _load(preset: str) -> None:
    st.session_state[ROWS_KEY] = rows_from_messages(PRESETS[preset])


def conversation_editor() -> list[dict[str, str]]:
    """System / user / assistant rows to add, remove, reorder and edit; returns the messages."""
    preset_columns = st.columns(len(PRESETS))
    for column, name in zip(preset_columns, PRESETS, strict=True):
        column.button(name, on_click=_load, args=(name,), key=f"tpl_preset_{name}",
                      use_container_width=True)
    rows = _rows()
    for index, row in enumerate(rows):
        uid = row["uid"]
        role, content, up, down, delete = st.columns([2, 10, 1, 1, 1], vertical_alignment="center")
        row["role"] = role.selectbox("Role", ROLES, index=ROLES.index(row["role"]),
                                     key=f"tpl_role_{uid}", label_visibility="collapsed")
        row["content"] = content.text_area("Content", row["content"], key=f"tpl_content_{uid}",
                                           label_visibility="collapsed", height=68,
                                           max_chars=4000)
        up.button("↑", key=f"tpl_up_{uid}", on_click=_move, args=(uid, -1), disabled=index == 0,
                  help="Move up")
        down.button("↓", key=f"tpl_down_{uid}", on_click=_move, args=(uid, 1),
                    disabled=index == len(rows) - 1, help="Move down")
        delete.button("✕", key=f"tpl_delete_{uid}", on_click=_remove, args=(uid,), help="Remove")
    add_columns = st.columns(len(ROLES) + 3)
    for column, role in zip(add_columns, ROLES):
        column.button(f"+ {role}", key=f"tpl_add_{role}", on_click=_add, args=(role,),
                      use_container_width=True)
    return as_messages(rows)


def rendered_prompt(prompt: RenderedPrompt, *, highlight_special: bool, show_ids: bool) -> None:
    """One family's result: the text the model reads (or the template's error), its tokens."""
    st.markdown(f"**{prompt.source}**")
    if prompt.error:
        st.error(prompt.error)
        return
    st.caption(f"{prompt.token_count} tokens, {prompt.special_count} of them special")
    st.markdown(tokens_html(prompt.tokens, boundaries=show_ids, highlight_special=highlight_special,
                            show_ids=show_ids), unsafe_allow_html=True)
    if show_ids:
        st.code(" ".join(str(token.id) for token in prompt.tokens), language=None, wrap_lines=True)
    with st.expander("As a Python string"):
        st.code(repr(prompt.text), language="python", wrap_lines=True)


def template_column(source: TemplateSource, messages: list[dict[str, str]],
                    add_generation_prompt: bool, *, highlight_special: bool,
                    show_ids: bool) -> None:
    """One column: the source's rendering, where it comes from, the Jinja, the code."""
    with st.spinner(f"Loading {source.label} …"):
        prompt = source.render(messages, add_generation_prompt)
    rendered_prompt(prompt, highlight_special=highlight_special, show_ids=show_ids)
    for note in source.notes():
        st.caption(note)
    with st.expander(f"The template (Jinja, from {source.origin})"):
        try:
            st.code(source.template_text() or "(none)", language="jinja2", wrap_lines=True)
        except EngineUnavailable as exc:
            st.error(f"The engine can't show its template right now: {exc}")
    code = source.code(messages, add_generation_prompt)
    if code:
        with st.expander("The same in transformers"):
            st.code(code, language="python")
