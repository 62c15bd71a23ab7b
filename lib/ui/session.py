"""Per-browser-session state: the inspector, typed keys and provider clients.

Everything secret lives in ``st.session_state``, which Streamlit keeps per browser session,
so one student's typed key never reaches another's session.
"""

from __future__ import annotations

import os
from decimal import Decimal
from collections.abc import Mapping
from typing import Any

import streamlit as st

from lib.deployment import ClassroomLimits
from lib.config import Endpoint, resolve_endpoints
from lib.inspector import Inspector
from lib.chat.providers import ChatProvider, connect


def read_secrets() -> Mapping[str, Any]:
    """``st.secrets`` as a plain dict; empty when the deployment has no secrets file."""
    try:
        return st.secrets.to_dict()
    except Exception:
        return {}


KEY_INPUT = "lab_key_input_"  # + endpoint id: the sidebar's key and base-URL widgets
URL_INPUT = "lab_url_input_"


def typed_settings() -> dict[str, str]:
    """Keys and URLs typed in the sidebar, keyed "<endpoint id>.api_key" / ".base_url".

    Read from the widgets' own state, which Streamlit updates before the run starts, so
    everything drawn in this run already knows what was just typed.
    """
    typed = {}
    for name, value in st.session_state.items():
        if not (isinstance(value, str) and value.strip()):
            continue
        if name.startswith(KEY_INPUT):
            typed[f"{name.removeprefix(KEY_INPUT)}.api_key"] = value.strip()
        elif name.startswith(URL_INPUT):
            typed[f"{name.removeprefix(URL_INPUT)}.base_url"] = value.strip()
    return typed


def endpoints() -> list[Endpoint]:
    return resolve_endpoints(read_secrets(), os.environ, typed_settings())


def classroom_limits() -> ClassroomLimits:
    return ClassroomLimits.from_settings(read_secrets(), os.environ)


def inspector() -> Inspector:
    if "lab_inspector" not in st.session_state:
        st.session_state["lab_inspector"] = Inspector()
    return st.session_state["lab_inspector"]


def provider_for(endpoint: Endpoint) -> ChatProvider:
    """This session's client for the endpoint, reused across reruns.

    For the built-in model this starts its local server the first time in the process, and
    picks up a new one if it had to be restarted. One client per endpoint: a client for an
    old key or URL is closed when it is replaced.
    """
    connected, window = connect(endpoint)
    clients: dict[str, ChatProvider] = st.session_state.setdefault("lab_providers", {})
    client = clients.get(endpoint.id)
    if client is None or client.endpoint.fingerprint != connected.fingerprint:
        if client is not None:
            client.close()
        client = clients[endpoint.id] = ChatProvider(connected, inspector(), context_window=window)
    return client


def count_request() -> int:
    """Note one more request sent on this session; returns how many were sent before."""
    sent = st.session_state.get("lab_requests_sent", 0)
    st.session_state["lab_requests_sent"] = sent + 1
    return sent


def requests_sent() -> int:
    return st.session_state.get("lab_requests_sent", 0)


def spent_usd() -> Decimal:
    """Dollars this session has spent on the deployment's keys."""
    return st.session_state.get("lab_spent_usd", Decimal(0))


def add_spend(amount: Decimal) -> None:
    st.session_state["lab_spent_usd"] = spent_usd() + amount
