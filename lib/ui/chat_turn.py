"""One assistant turn on a chat page: check the classroom limits, stream the answer, keep it.

The answer is put in the history before streaming starts and updated in a ``finally``, so a
partial answer survives a provider failure and also the user stopping or rerunning the page
mid-stream.
"""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from lib.history import Message, to_api_messages
from lib.pricing import usage_cost
from lib.streaming import ChatStream, coalesce
from lib.ui import session
from lib.ui.chat_widgets import metrics_row
from lib.ui.provider_picker import Choice, ensure_builtin_loaded

STOPPED = "Stopped before the answer was complete. The partial answer is kept."


def _refusal(choice: Choice) -> str | None:
    if not choice.model:
        return "Pick or type a model in the sidebar first."
    limits = session.classroom_limits()
    price_known = usage_cost(choice.model, 0, 0) is not None if limits.max_spend_usd else True
    return limits.refusal(choice.endpoint, choice.model, session.requests_sent(),
                          session.spent_usd(), price_known)


def _cost(choice: Choice, stream: ChatStream) -> Decimal | None:
    metrics = stream.metrics
    if not choice.endpoint.bills_usage:
        return Decimal(0)
    if metrics is None or metrics.usage_is_estimate:
        return None
    return usage_cost(choice.model, metrics.prompt_tokens or 0, metrics.completion_tokens)


def answer(choice: Choice, history: list[Message], system_prompt: str) -> None:
    """Stream the model's reply to the conversation into the current container."""
    refusal = _refusal(choice)
    if refusal:
        st.warning(refusal)
        return
    if choice.endpoint.kind == "builtin":
        ensure_builtin_loaded()
    session.count_request()
    stream = choice.provider.stream_chat(
        to_api_messages(history, system_prompt), choice.model, choice.options
    )
    reply: Message = {"role": "assistant", "content": ""}
    history.append(reply)
    stop = st.empty()
    # Any click reruns the page, which interrupts this run: the finally below keeps the text.
    stop.button("⏹ Stop generating", key="chat_stop")
    try:
        st.write_stream(coalesce(stream))
    finally:
        # Plain assignments first: any st call here can itself raise the pending rerun.
        reply["content"] = stream.text
        if stream.error:
            reply["error"] = str(stream.error)
        elif not stream.done:
            reply["error"] = STOPPED
        stop.empty()
    if stream.error:
        kept = " The partial answer above is kept." if stream.text else ""
        st.error(f"{stream.error}{kept}")
    cost = _cost(choice, stream)
    if cost and choice.endpoint.key_from_deployment:
        session.add_spend(cost)
    metrics_row(stream.metrics, cost)
