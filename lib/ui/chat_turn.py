"""One assistant turn on a chat page: check the classroom limits, stream the answer, keep it.

The answer is put in the history before streaming starts and updated in a ``finally``, so a
partial answer survives a provider failure and also the user stopping or rerunning the page
mid-stream.
"""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from lib.history import Message, mark_unsent, to_api_messages
from lib.local_models import ModelNotInstalled
from lib.pricing import usage_cost
from lib.streaming import ChatStream, coalesce
from lib.ui import session
from lib.ui.chat_widgets import metrics_row
from lib.ui.provider_picker import Choice, ensure_builtin_loaded

ACTIVE = "chat_active_answer"  # (choice, stream, reply) while an answer is streaming


def _refusal(choice: Choice) -> str | None:
    if not choice.model:
        return "Pick or type a model in the sidebar first."
    limits = session.classroom_limits()
    price_known = usage_cost(choice.model, 0, 0) is not None if limits.max_spend_usd else True
    return limits.refusal(choice.endpoint, choice.model, session.requests_sent(),
                          session.spent_usd(), price_known)


def _cost(choice: Choice, stream: ChatStream) -> Decimal | None:
    """What the request cost: free on the built-in model or a keyless server; None when
    no price is known. Estimated token counts are priced too (a stopped stream never got
    the provider's usage chunk, but was still billed)."""
    if not choice.endpoint.bills_usage:
        return Decimal(0)
    metrics = stream.metrics
    return usage_cost(choice.model, metrics.prompt_tokens or 0, metrics.completion_tokens)


def answer(choice: Choice, history: list[Message], system_prompt: str) -> None:
    """Stream the model's reply to the conversation into the current container."""
    refusal = _refusal(choice)
    if refusal:
        mark_unsent(history[-1], refusal)
        st.warning(refusal)
        return
    try:
        if choice.endpoint.kind == "builtin":
            ensure_builtin_loaded()
        stream = choice.provider.stream_chat(
            to_api_messages(history, system_prompt), choice.model, choice.options
        )
    except ModelNotInstalled as exc:
        mark_unsent(history[-1], f"The built-in model is not available here: {exc}")
        st.error(history[-1]["error"])
        return
    session.count_request()
    reply: Message = {"role": "assistant", "content": ""}
    history.append(reply)
    st.session_state[ACTIVE] = (choice, stream, reply)
    stop = st.empty()
    # Any click reruns the page, which interrupts this run: the finally below keeps the text.
    stop.button("⏹ Stop generating", key="chat_stop")
    try:
        st.write_stream(coalesce(stream))
    finally:
        cost = _settle(choice, stream, reply)  # plain Python: an st call here could raise
        if st.session_state.get(ACTIVE, (None,) * 3)[2] is reply:
            del st.session_state[ACTIVE]
        stop.empty()
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
    active = st.session_state.pop(ACTIVE, None)
    if active is not None:
        _settle(*active)


def _settle(choice: Choice, stream: ChatStream, reply: Message) -> Decimal | None:
    """Close the stream, keep its text and error in the history, count its cost once."""
    stream.close()  # a no-op when it had finished; otherwise ends it where it is
    reply["content"] = stream.text
    if stream.error:
        reply["error"] = str(stream.error)
    cost = _cost(choice, stream)
    first = object()
    if reply.setdefault("settled", first) is first:  # atomic: only one thread counts it
        if cost and choice.endpoint.key_from_deployment:
            session.add_spend(cost)
    return cost
