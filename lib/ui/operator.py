"""The operator's view of a shared deployment: budget, requests per model, sessions.

Shown only when the deployment sets LAB_ADMIN_PASSWORD, and its figures only after that
password is typed. It reads the shared ledger (lib/ledger); nothing here changes it.
"""

from __future__ import annotations

import streamlit as st

import os

from lib.ledger import PROCESS_LEDGER
from lib.ledger.core import LedgerUnavailable
from lib.ui import session


def operator_panel() -> None:
    rules = session.policy()
    if not rules.admin_password:
        return
    with st.expander("Operator"):
        password = st.text_input("Operator password", type="password", key="lab_operator_pw")
        if not password:
            return
        if not rules.admits_admin(password):
            st.error("That is not the operator password.")
            return
        try:
            ledger = PROCESS_LEDGER.get(session.read_secrets(), os.environ)
            figures = ledger.figures()
        except LedgerUnavailable as exc:
            st.error(f"The shared ledger can't be read: {exc}. The shared key is paused "
                     "until it answers.")
            return
        budget = rules.max_spend_total
        cols = st.columns(4)
        cols[0].metric("Spent on the deployment's keys", f"${figures.spent_usd:.4f}")
        cols[1].metric("Held for answers in flight", f"${figures.held_usd:.4f}",
                       help="The most the answers still coming can cost, reserved on the budget")
        cols[2].metric("Budget", f"${budget}" if budget is not None else "no limit",
                       help="LAB_MAX_SPEND_USD_TOTAL, for every session of every replica")
        cols[3].metric("Active sessions (last 10 min)", figures.active_sessions)
        if budget:
            st.progress(min(1.0, float(figures.spent_usd / budget)))
        requests = figures.requests_by_model
        if requests:
            st.dataframe([{"Model": m, "Requests": n} for m, n in requests.items()],
                         hide_index=True)
        else:
            st.caption("No requests on the deployment's keys yet.")
        st.caption(f"Ledger: {ledger.description}.")
        if PROCESS_LEDGER.last_problem:
            st.warning(f"Last shared-ledger problem: {PROCESS_LEDGER.last_problem}")
        from lib.ui.classroom import STORE  # the page's own run already opened it

        st.caption(f"Session store: {STORE.description}.")
        if STORE.last_problem:
            st.warning(f"Last session-store problem: {STORE.last_problem}")
