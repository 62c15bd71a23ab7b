"""One assistant turn on a chat page: the screen around lib/chat/turn.ChatTurn."""

from __future__ import annotations

from contextlib import nullcontext

import streamlit as st

from lib.chat.context import (
    CachedSummarizer, ContextStrategy, model_summary, plan_context, prompt_counter,
)
from lib.chat.errors import describe_error
from lib.chat.history import Message, mark_unsent
from lib.chat.streaming import coalesce
from lib.chat.turn import ChatTurn
from lib.ui import session
from lib.ui.chat_widgets import LiveWire, metrics_row, usage_caption
from lib.ui.context_controls import summary_cache
from lib.ui.provider_picker import Choice

ACTIVE = "chat_active_turn"  # the ChatTurn being streamed, for the next run to settle


def _refusal(choice: Choice) -> str | None:
    if choice.error:
        return choice.error
    if not choice.model:
        return "Pick or type a model in the sidebar first."
    return session.admit(choice.endpoint, choice.model)


def answer(choice: Choice, history: list[Message], system_prompt: str,
           streaming: bool = True, strategy: ContextStrategy | None = None,
           wire: LiveWire | None = None) -> None:
    """Stream the model's reply to the conversation into the current container (and the
    raw exchange into the wire panel, when there is one)."""
    refusal = _refusal(choice)
    if refusal:
        mark_unsent(history[-1], refusal)
        st.warning(refusal)
        return
    messages = _planned_messages(choice, history, system_prompt, strategy)
    turn = ChatTurn.start(choice.provider, choice.model, choice.options, history,
                          system_prompt, account=session.account(), stream=streaming,
                          messages=messages)
    st.session_state[ACTIVE] = turn
    stop = st.empty()
    # Any click reruns the page, which interrupts this run: the finally below keeps the text.
    stop.button("⏹ Stop generating", key="chat_stop")
    try:
        shown = st.empty()  # not st.write_stream: its first use imports pandas and pyarrow
        text = ""  # (1–5 s before the first answer's request even goes out, measured)
        for delta in coalesce(turn.stream):
            text += delta
            shown.markdown(text)
            if wire is not None:
                wire.draw()
    finally:
        cost = turn.settle()  # plain Python first: an st call here could raise
        if st.session_state.get(ACTIVE) is turn:
            del st.session_state[ACTIVE]
        stop.empty()
    if wire is not None:
        wire.draw(final=True)
    stream = turn.stream
    if stream.error:
        kept = " The partial answer above is kept." if stream.text else ""
        st.error(f"{stream.error}{kept}")
    if stream.notice:
        st.caption(stream.notice)
    metrics_row(stream.metrics, cost)
    if usage := usage_caption(turn.reply):
        st.caption(usage)


def _planned_messages(choice: Choice, history: list[Message], system_prompt: str,
                      strategy: ContextStrategy | None) -> list[Message] | None:
    """What the context strategy sends (None: the whole conversation). A summary that can't
    be written leaves the older messages out instead, and says so."""
    if strategy is None or strategy.name == "keep_all":
        return None
    count, _ = prompt_counter(choice.provider.context_window)
    summarize = None
    if strategy.name == "summarize":
        summarize = CachedSummarizer(
            model_summary(choice.provider, choice.model, session.account()), summary_cache())
    try:
        with st.spinner("Summarizing the older messages…") if summarize else nullcontext():
            return plan_context(history, system_prompt, strategy, count, summarize).messages
    except Exception as exc:
        reason = describe_error(exc, choice.provider.where, choice.provider.inspector.redact)
        st.warning(f"The summary could not be written ({reason}); the older messages are "
                   "left out instead.")
        fallback = strategy.model_copy(update={"name": "sliding_window"})
        try:
            return plan_context(history, system_prompt, fallback, count).messages
        except Exception:
            return None  # the engine could not count: send it all, the engine fits it


def settle_interrupted_answer() -> None:
    """End an answer that a rerun (Stop, or a new message) interrupted, before the history
    is drawn.

    Streamlit starts the new run at once, while the interrupted one is still blocked waiting
    for its next chunk; settling here lets this run already show the partial answer.
    """
    turn = st.session_state.get(ACTIVE)
    if turn is not None:
        turn.settle()
        st.session_state.pop(ACTIVE, None)
