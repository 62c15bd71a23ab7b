"""One assistant turn on a chat page: the screen around lib/chat/turn.ChatTurn."""

from __future__ import annotations

import streamlit as st

from lib.chat.history import Message, mark_unsent
from lib.chat.streaming import coalesce
from lib.chat.turn import ChatTurn
from lib.ui import session
from lib.ui.chat_widgets import metrics_row
from lib.ui.provider_picker import Choice

ACTIVE = "chat_active_turn"  # the ChatTurn being streamed, for the next run to settle


def _refusal(choice: Choice) -> str | None:
    if choice.error:
        return choice.error
    if not choice.model:
        return "Pick or type a model in the sidebar first."
    return session.admit(choice.endpoint, choice.model)


def answer(choice: Choice, history: list[Message], system_prompt: str,
           streaming: bool = True) -> None:
    """Stream the model's reply to the conversation into the current container."""
    refusal = _refusal(choice)
    if refusal:
        mark_unsent(history[-1], refusal)
        st.warning(refusal)
        return
    turn = ChatTurn.start(choice.provider, choice.model, choice.options, history,
                          system_prompt, account=session.account(), stream=streaming)
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
    finally:
        cost = turn.settle()  # plain Python first: an st call here could raise
        if st.session_state.get(ACTIVE) is turn:
            del st.session_state[ACTIVE]
        stop.empty()
    stream = turn.stream
    if stream.error:
        kept = " The partial answer above is kept." if stream.text else ""
        st.error(f"{stream.error}{kept}")
    if stream.notice:
        st.caption(stream.notice)
    metrics_row(stream.metrics, cost)


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
