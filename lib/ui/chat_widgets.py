"""Widgets shared by the chat pages: the metrics row and the wire panel (the inspector)."""

from __future__ import annotations

import time
from decimal import Decimal

import streamlit as st

from lib.inspector import Inspector
from lib.chat.history import Message
from lib.chat.streaming import StreamMetrics


def metrics_row(metrics: StreamMetrics | None, cost: Decimal | None = None) -> None:
    if metrics is None:
        return
    estimate = " (est.)" if metrics.usage_is_estimate else ""
    cols = [*st.columns(3), *st.columns(3)]  # two rows: they fit beside the wire panel
    cols[0].metric("Time to first token",
                   f"{metrics.ttft_s * 1000:.0f} ms" if metrics.ttft_s is not None else "—")
    cols[1].metric("Tokens / s",
                   f"{metrics.tokens_per_s:.1f}" if metrics.tokens_per_s else "—")
    cols[2].metric(f"Prompt tokens{estimate}",
                   metrics.prompt_tokens if metrics.prompt_tokens is not None else "—")
    cols[3].metric(f"Completion tokens{estimate}", metrics.completion_tokens)
    cols[4].metric("Finish reason", metrics.finish_reason or "—")
    shown = "—" if cost is None else "free" if cost == 0 else f"${cost:.6f}"
    cols[5].metric(f"Cost{estimate}", shown,
                   help="Usage × price per million tokens (genai-prices); — when unknown.")
    st.caption(f"Token counts: {metrics.usage_source}.")


def conversation_message(message: Message, mark: str | None = None) -> None:
    """One message of the conversation, with its error, whether it is still sent, and (for
    an answer) what its turn sent and cost."""
    with st.chat_message(message["role"]):
        st.markdown(message["content"])
        if message.get("error"):
            st.error(message["error"])
        if mark:
            st.caption(mark)
        if usage := usage_caption(message):
            st.caption(usage)


def usage_caption(message: Message) -> str | None:
    """What the turn that wrote this answer sent and cost."""
    usage = message.get("usage")
    if not usage or usage.get("prompt_tokens") is None:
        return None
    about = "≈ " if usage.get("estimate") else ""
    cost = usage.get("cost")
    price = "" if cost is None else " · free" if Decimal(cost) == 0 else f" · ${Decimal(cost):.6f}"
    text = (f"This turn sent {about}{usage['prompt_tokens']:,} prompt tokens (everything the "
            f"model was shown, again) and got {about}{usage['completion_tokens']:,} back{price}.")
    for summary in usage.get("summaries", ()):
        paid = summary["cost"]
        paid = "" if paid is None else " · free" if paid == 0 else f" · ${paid:.6f}"
        text += (f" Writing the summary took one more request: {summary['prompt_tokens']:,} "
                 f"tokens in, {summary['completion_tokens']:,} out{paid}.")
    return text


WIRE_TITLE = "On the wire: the exact request and what came back"
LIVE_EVENTS = 30  # while streaming, the newest events only: the page stays quick
LIVE_TAIL_BYTES = 16_000  # of the body, decoded and redacted for a live redraw
SHOWN_EVENTS = 400  # once done; a 2,000-token answer is ~2,000 events


def wire_panel(inspector: Inspector) -> LiveWire:
    """The last HTTP exchange, raw (secrets redacted): the lecture's "=== REQUEST === /
    === RESPONSE ===" made live. Returns the panel, for the answer being streamed to redraw."""
    st.markdown(f"**🔍 {WIRE_TITLE}**")
    wire = LiveWire(inspector, st.container(height=640).empty())  # scrolls on its own
    wire.draw(final=True)
    return wire


class LiveWire:
    """The wire panel's slot, redrawn a few times a second while an answer streams."""

    def __init__(self, inspector: Inspector, slot) -> None:
        self.inspector = inspector
        self.slot = slot
        self._drawn_at = 0.0

    def draw(self, final: bool = False) -> None:
        now = time.perf_counter()
        if not final and now - self._drawn_at < 0.25:
            return
        self._drawn_at = now
        latest = self.inspector.latest(tail_bytes=None if final else LIVE_TAIL_BYTES)
        with self.slot.container():
            if latest is None:
                st.caption("Nothing sent yet. Send a message and the HTTP exchange appears here.")
                return
            _exchange(latest, LIVE_EVENTS if not final else SHOWN_EVENTS)

    def draw_pending(self, body: dict | None) -> None:
        """The request about to go out, before anything has come back (without streaming,
        the whole wait happens here)."""
        if body is None:
            return
        with self.slot.container():
            st.markdown("=== REQUEST === `POST /chat/completions`")
            st.json(body, expanded=3)
            st.markdown("=== RESPONSE === `waiting…`")


def _exchange(latest: dict, events_shown: int) -> None:
    request, response = latest["request"], latest["response"]
    st.markdown(f"=== REQUEST === `{request['method']} {request['url']}`")
    with st.expander("Request headers (key redacted)"):
        st.json(request["headers"])
    st.json(request["json"], expanded=3)
    status = response["status"] if response["status"] is not None else "waiting…"
    st.markdown(f"=== RESPONSE === `{status}`")
    with st.expander("Response headers"):
        st.json(response["headers"])
    if "sse_events" in response:
        events = response["sse_events"]
        total = response.get("sse_event_count", len(events))
        st.caption(f"{total} server-sent events (`content-type: text/event-stream`), "
                   "as they arrived" + (f"; the last {events_shown} shown"
                                        if total > events_shown else ""))
        with st.container(height=320):
            st.code("\n\n".join(events[-events_shown:]), language="text")
    elif "json" in response:
        st.json(response["json"])
    else:
        st.code(response.get("text", ""), language="text")


def exchanges_panel(inspector: Inspector, count: int, expanded: bool = False) -> None:
    """The last ``count`` HTTP exchanges, a tab each (a page that sends several requests per
    click), raw, with secrets redacted."""
    with st.expander(f"🔍 {WIRE_TITLE}", expanded=expanded):
        shown = inspector.history()[-count:]
        if not shown:
            st.caption("Nothing sent yet. Send a prompt and the HTTP exchanges appear here.")
            return
        tabs = st.tabs([f"{(e['request'].get('json') or {}).get('model', '')} · "
                        f"{e['request']['method']} {e['request']['url'].rsplit('/v1', 1)[-1]}"
                        for e in shown])
        for tab, exchange in zip(tabs, shown):
            with tab:
                _exchange(exchange, SHOWN_EVENTS)
