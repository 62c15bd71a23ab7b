"""Widgets shared by the chat pages: the metrics row and the inspector panel."""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from lib.inspector import Inspector
from lib.chat.streaming import StreamMetrics


def metrics_row(metrics: StreamMetrics | None, cost: Decimal | None = None) -> None:
    if metrics is None:
        return
    estimate = " (est.)" if metrics.usage_is_estimate else ""
    cols = st.columns(6)
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


def inspector_panel(inspector: Inspector, exchanges: int = 1) -> None:
    """The last request and response (or the last ``exchanges`` of them, a tab each: a page
    that sends two requests per click), raw, with secrets redacted."""
    with st.expander("🔍 Inspector: the raw request and response", expanded=False):
        if exchanges == 1:
            latest = inspector.latest()
            shown = [latest] if latest else []
        else:
            shown = inspector.history()[-exchanges:]
        if not shown:
            st.caption("Nothing sent yet. Send a message and the HTTP exchange appears here.")
            return
        if len(shown) == 1:
            _exchange(shown[0])
            return
        tabs = st.tabs([f"{(e['request'].get('json') or {}).get('model', '')} · "
                        f"{e['request']['method']} {e['request']['url'].rsplit('/v1', 1)[-1]}"
                        for e in shown])
        for tab, exchange in zip(tabs, shown):
            with tab:
                _exchange(exchange)


def _exchange(latest: dict) -> None:
    request, response = latest["request"], latest["response"]
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Request** `{request['method']} {request['url']}`")
        st.json(request["headers"], expanded=False)
        st.json(request["json"])
    with right:
        st.markdown(f"**Response** `{response['status']}`")
        st.json(response["headers"], expanded=False)
        if "sse_events" in response:
            st.caption(f"{len(response['sse_events'])} server-sent events")
            st.code("\n\n".join(response["sse_events"]), language="text")
        elif "json" in response:
            st.json(response["json"])
        else:
            st.code(response.get("text", ""), language="text")
