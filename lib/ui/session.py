"""Per-browser-session state: the inspector, typed keys and provider clients.

Everything secret lives in ``st.session_state``, which Streamlit keeps per browser session,
so one student's typed key never reaches another's session.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib.deployment import DeploymentPolicy, SessionUsage
from lib.ledger import PROCESS_LEDGER
from lib.ledger.accounts import KeyAccount, admit_request, key_account
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


def policy() -> DeploymentPolicy:
    return DeploymentPolicy.from_settings(read_secrets(), os.environ)


def usage() -> SessionUsage:
    """What this browser has used of the deployment's keys (a courtesy cap, saved with the
    browser's work, so a reload does not reset it; a browser without its cookie starts again
    at zero; the shared ledger counts everyone)."""
    return st.session_state.setdefault("lab_usage", SessionUsage())


def account() -> KeyAccount:
    """A new account for a request (or a run of requests sent one after another) on the
    deployment's keys: admit it there, then record or release it there. A plain object: a
    turn settled from another script run's thread records into it without Streamlit."""
    return key_account(usage(), read_secrets(), os.environ)


def admit(account: KeyAccount, endpoint: Endpoint, model: str, pending: int = 0,
          messages: list | None = None, max_tokens: int | None = None) -> str | None:
    """Why a request to ``model`` on ``endpoint`` may not be sent, or None: the deployment
    policy, for every request any page sends. When it says yes on a shared budget, the most
    the request can cost (``messages`` and ``max_tokens``, when the caller knows them) is held
    on ``account`` until the request is recorded or released there. ``pending``: requests
    already let through in this run and not yet recorded."""
    return admit_request(policy(), account, endpoint, model, pending, messages, max_tokens)


def note_visit() -> None:
    """Tell the operator's view that this session is active."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        PROCESS_LEDGER.seen(read_secrets(), os.environ, ctx.session_id)
