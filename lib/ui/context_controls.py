"""The chat page's context window: the strategy, the gauge, and the forgetting demo."""

from __future__ import annotations

import streamlit as st

from lib.chat.context import (
    STRATEGY_LABELS, ContextPlan, ContextStrategy, plan_context, prompt_counter, remembered,
    resend_totals,
)
from lib.chat.demos import FORGETTING_DEMO, FORGETTING_DEMO_WINDOW
from lib.chat.history import Message, to_api_messages
from lib.ui.provider_picker import Choice

STRATEGY_KEY = "chat_context_strategy"
LAST_KEY = "chat_context_last"
BUDGET_KEY = "chat_context_budget"
SUMMARIES = "chat_summaries"  # the latest summary and what it covers (lib/chat/context.py)
COUNTS = "chat_token_counts"  # prompt tokens already counted, per model

# The lecture's context window sizes, for hosted models whose window we are not told.
LECTURE_WINDOWS = "GPT-2: 2,048 tokens · nano models ≈ 32k · small ≈ 120k · frontier ≈ 1M"


def context_strategy_input() -> ContextStrategy:
    """The strategy widgets (sidebar), built from ContextStrategy's own fields."""
    fields = ContextStrategy.model_fields
    defaults = ContextStrategy()
    st.session_state.setdefault(LAST_KEY, defaults.last_messages)  # the demo sets them too
    st.session_state.setdefault(BUDGET_KEY, defaults.token_budget)
    with st.expander("Context window", expanded=False):
        name = st.selectbox("What each request carries", list(STRATEGY_LABELS),
                            format_func=STRATEGY_LABELS.get, key=STRATEGY_KEY,
                            help="Models keep no state: every request resends the "
                                 "conversation. When it grows, something has to give.")
        last = st.number_input("N (newest messages sent word for word)", 1, 200, key=LAST_KEY,
                               help=fields["last_messages"].description,
                               disabled=name not in ("sliding_window", "summarize"))
        budget = st.number_input("Token budget", 64, 1_000_000, step=64, key=BUDGET_KEY,
                                 help=fields["token_budget"].description,
                                 disabled=name != "token_budget")
        st.button("Load the forgetting demo", key="chat_forgetting_demo",
                  on_click=_load_forgetting_demo,
                  help="A name given in turn 1 and asked for in turn 8, with a sliding "
                       f"window of {FORGETTING_DEMO_WINDOW} messages.")
    return ContextStrategy(name=name, last_messages=int(last), token_budget=int(budget))


def _load_forgetting_demo() -> None:
    """Runs before the page is drawn, so the widgets show the demo's settings."""
    st.session_state["chat_history"] = [dict(m) for m in FORGETTING_DEMO]
    st.session_state[STRATEGY_KEY] = "sliding_window"
    st.session_state[LAST_KEY] = FORGETTING_DEMO_WINDOW
    st.session_state.pop(SUMMARIES, None)


def summary_cache() -> dict:
    return st.session_state.setdefault(SUMMARIES, {})


def token_counter(choice: Choice):
    """Counts the prompt tokens of messages for the chosen model, remembering what it
    counted (this session, this model): planning runs every time the page is drawn."""
    count, _ = prompt_counter(choice.provider.context_window)
    memories = st.session_state.setdefault(COUNTS, {})
    if len(memories) > 8:  # a few models per session at most
        memories.clear()
    return remembered(count, memories.setdefault((choice.endpoint.fingerprint, choice.model), {}))


def next_request_plan(choice: Choice, history: list[Message], system_prompt: str,
                      strategy: ContextStrategy) -> ContextPlan | None:
    """What the next request carries: for the gauge and the marks on the history. A question
    waiting for its answer is that request; otherwise an empty next message stands in. No
    summary is written for this (one comes when a message is sent); one already written is
    shown."""
    if choice.provider is None or not history:
        return None
    pending = history[-1]["role"] == "user" and not history[-1].get("unsent")
    upcoming = history if pending else [*history, {"role": "user", "content": ""}]
    memory = summary_cache()
    known = memory.get("covers", ())

    def written(messages: list[Message]) -> str | None:
        key = tuple((m["role"], m["content"]) for m in messages)
        return memory.get("summary") if key == known else None

    try:
        return plan_context(upcoming, system_prompt, strategy, token_counter(choice), written)
    except Exception:  # the engine could not count (restarting): no gauge this run
        return None


def last_request_messages(history: list[Message], system_prompt: str) -> list[Message]:
    """The messages the last answer's request carried, as sent (for "view code": the code
    sends exactly what the page sent); before any answer, the conversation as it stands."""
    for message in reversed(history):
        if message["role"] == "assistant" and message.get("request"):
            return message["request"]
    return to_api_messages(history, system_prompt)


def context_gauge(plan: ContextPlan | None, choice: Choice, history: list[Message]) -> None:
    """Tokens the conversation takes against the model's window, what was left out, and what
    resending it every turn has added up to."""
    if plan is None:
        return
    window = choice.provider.context_window if choice.provider else None
    _, exact = prompt_counter(window)
    counted = "counted by the model's own template and tokenizer" if exact else (
        "estimated with OpenAI's o200k tokenizer")
    answer_room = choice.options.max_tokens
    if plan.prompt_tokens is None:
        st.caption("Context: the prompt could not be counted just now.")
    elif choice.window_tokens:
        used = plan.prompt_tokens + answer_room
        st.progress(min(1.0, used / choice.window_tokens),
                    text=f"Context: {plan.prompt_tokens:,} prompt tokens + up to "
                         f"{answer_room:,} for the answer, of this model's "
                         f"{choice.window_tokens:,}-token window ({counted}).")
    else:
        st.caption(f"Context: {plan.prompt_tokens:,} prompt tokens resent with the next "
                   f"message ({counted}). Window sizes in the lecture: {LECTURE_WINDOWS}.")
    if plan.left_out:
        st.caption(f"🚫 {len(plan.left_out)} older message(s) are no longer sent: the model "
                   "cannot see them.")
    if plan.summarized:
        done = "in the summary shown" if plan.summary else "in a summary written when you send"
        st.caption(f"📝 {len(plan.summarized)} older message(s) are sent only {done}.")
    totals = resend_totals(history)
    if totals.turns > 1:
        spent = "" if not totals.cost else f", ${totals.cost:.6f} in all"
        st.caption(f"🔁 {totals.turns} answers so far were sent {totals.prompt_tokens:,} prompt "
                   f"tokens altogether{spent}: each turn pays for the whole history again.")
    if plan.summary:
        with st.expander("The summary the model reads instead"):
            st.markdown(plan.summary)


def message_mark(plan: ContextPlan | None, index: int) -> str | None:
    """Why message ``index`` of the history is not sent as it is, if it isn't."""
    if plan is None:
        return None
    if index in plan.left_out:
        return "🚫 No longer sent: outside the context the strategy keeps."
    if index in plan.summarized:
        return "📝 Sent only as part of the summary."
    return None
