"""One assistant turn on a chat page: the screen around lib/chat/turn.ChatTurn."""

from __future__ import annotations

from contextlib import nullcontext

import streamlit as st

from lib.chat.context import (
    CachedSummarizer, ContextPlan, ContextStrategy, SummaryCost, SummaryFailed, model_summary,
    plan_context,
)
from lib.chat.errors import describe_error
from lib.chat.history import Message, mark_unsent, to_api_messages
from lib.chat.streaming import coalesce
from lib.chat.turn import ChatTurn
from lib.ledger.accounts import KeyAccount
from lib.ui import session
from lib.ui.chat_widgets import LiveWire, metrics_row, usage_caption
from lib.ui.context_controls import summary_cache, token_counter
from lib.ui.provider_picker import Choice

ACTIVE = "chat_active_turn"  # the ChatTurn being streamed, for the next run to settle


def _refusal(choice: Choice, account: KeyAccount, history: list[Message],
             system_prompt: str) -> str | None:
    if choice.error:
        return choice.error
    if not choice.model:
        return "Pick or type a model in the sidebar first."
    return session.admit(account, choice.endpoint, choice.model,
                         max_tokens=choice.options.max_tokens,
                         messages=to_api_messages(history, system_prompt))


def answer(choice: Choice, history: list[Message], system_prompt: str,
           streaming: bool = True, strategy: ContextStrategy | None = None,
           wire: LiveWire | None = None) -> None:
    """Stream the model's reply to the conversation into the current container (and the
    raw exchange into the wire panel, when there is one)."""
    account = session.account()  # this answer's: what admitting it holds, settling gives back
    refusal = _refusal(choice, account, history, system_prompt)
    if refusal:
        mark_unsent(history[-1], refusal)
        st.warning(refusal)
        return
    # The answer goes in first: a rerun from here on (a click while the summary is being
    # written, say) finds the question taken and does not answer it a second time.
    reply: Message = {"role": "assistant", "content": ""}
    history.append(reply)
    asked = history[:-1]
    st.session_state[ACTIVE] = NotSent(reply, account, choice.model)
    plan, summaries = _plan(choice, asked, system_prompt, strategy)
    turn = ChatTurn.start(choice.provider, choice.model, choice.options, asked, system_prompt,
                          account=account, stream=streaming,
                          messages=plan.messages if plan else None, reply=reply)
    st.session_state[ACTIVE] = turn
    stop = st.empty()
    # Any click reruns the page, which interrupts this run: the finally below keeps the text.
    stop.button("⏹ Stop generating", key="chat_stop")
    try:
        if wire is not None:
            wire.draw_pending(turn.stream.request_body)
        shown = st.empty()  # not st.write_stream: its first use imports pandas and pyarrow
        text = ""  # (1–5 s before the first answer's request even goes out, measured)
        for delta in coalesce(turn.stream):
            text += delta
            shown.markdown(text)
            if wire is not None:
                wire.draw()
    finally:
        cost = turn.settle()  # plain Python first: an st call here could raise
        if summaries:
            reply.setdefault("usage", {})["summaries"] = [vars(c) for c in summaries]
        if st.session_state.get(ACTIVE) is turn:
            st.session_state.pop(ACTIVE, None)
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


class NotSent:
    """An answer whose request was still being prepared when a rerun came: it is settled as
    stopped, its question is left for the user to ask again, and what it held on the
    class's budget is given back."""

    def __init__(self, reply: Message, account: KeyAccount, model: str) -> None:
        self.reply, self.account, self.model = reply, account, model

    def settle(self) -> None:
        if not self.reply.get("content") and not self.reply.get("error"):
            self.reply["error"] = "Stopped before the request was sent."
        self.account.release(self.model)  # a no-op once nothing is held


def _plan(choice: Choice, asked: list[Message], system_prompt: str,
          strategy: ContextStrategy | None) -> tuple[ContextPlan | None, list[SummaryCost]]:
    """What the context strategy sends (None: the whole conversation), and any summary
    requests it made. A failure is said in words of the strategy in use."""
    if strategy is None or strategy.name == "keep_all":
        return None, []
    count = token_counter(choice)
    summarizer = None
    if strategy.name == "summarize":
        account = session.account()  # the summaries', one after another
        summarizer = CachedSummarizer(
            model_summary(choice.provider, choice.model, account,
                          admit=lambda messages, most: session.admit(
                              account, choice.endpoint, choice.model, messages=messages,
                              max_tokens=most)),
            summary_cache())
    try:
        with st.spinner("Summarizing the older messages…") if summarizer else nullcontext():
            plan = plan_context(asked, system_prompt, strategy, count, summarizer)
    except SummaryFailed as exc:
        st.warning(f"No summary this turn ({exc}): the older messages are left out instead, "
                   "as a sliding window would.")
        fallback = strategy.model_copy(update={"name": "sliding_window"})
        plan = plan_context(asked, system_prompt, fallback, count)
    except Exception as exc:  # counting for the token budget failed
        reason = describe_error(exc, choice.provider.where, choice.provider.inspector.redact)
        st.warning(f"The messages could not be counted for the token budget ({reason}): "
                   "this turn sends the whole conversation, and the built-in model's server "
                   "leaves out the oldest messages if they don't fit its window.")
        plan = None
    return plan, summarizer.spent if summarizer else []


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
