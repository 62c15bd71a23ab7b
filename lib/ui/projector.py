"""Projector mode: the page as it should look on a classroom screen (``?projector=1``).

Text and code large enough to read from the back of a room at 1280x720, and nothing a
projection doesn't need: Streamlit's toolbar and the sidebar (collapsed: its arrow brings it
back), padding. Long lines wrap instead of running off the screen: the wire panel's JSON
stays readable. The toggle is the room's choice, so a shared setup link doesn't carry it.
"""

from __future__ import annotations

import streamlit as st

KEY = "lab_projector"
PARAM = "projector"

# Always: keep the cookie-setting element (lib/ui/classroom.py) out of the layout.
BASE_CSS = ".st-key-lab_cookie { display: none; }"

PROJECTOR_CSS = """
html { font-size: 22px; }
[data-testid="stMain"] .block-container { padding: 1.5rem 1.5rem 4rem; max-width: 100%; }
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] { display: none; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stChatMessage"] { font-size: 1.15rem; line-height: 1.5; }
[data-testid="stCaptionContainer"] { font-size: 0.95rem; }
h1 { font-size: 2.2rem !important; } h2 { font-size: 1.7rem !important; }
h3 { font-size: 1.35rem !important; }
code, pre, [data-testid="stCode"] * { font-size: 0.85rem !important; }
pre, pre code, [data-testid="stCode"] pre { white-space: pre-wrap !important;
  overflow-wrap: anywhere; word-break: break-word; }
"""


def from_link() -> None:
    """A session's first run: ``?projector=1`` (or 0) sets the mode."""
    value = st.query_params.get(PARAM)
    if value is not None:
        st.session_state[KEY] = value.strip().lower() in ("1", "true", "on", "yes")


def _follow_toggle() -> None:
    """The URL says the mode too, so a reload of the projected page stays projected."""
    if st.session_state.get(KEY):
        st.query_params[PARAM] = "1"
    else:
        st.query_params.pop(PARAM, None)


def apply(sidebar) -> bool:
    """The toggle (in the sidebar) and the page's styles; whether projector mode is on."""
    on = sidebar.toggle("📽️ Projector mode", key=KEY, on_change=_follow_toggle,
                        help="Large text for a classroom screen; the sidebar folds away "
                             "(its arrow, top left, brings it back). Or add ?projector=1 "
                             "to the address.")
    st.html(f"<style>{BASE_CSS}{PROJECTOR_CSS if on else ''}</style>")
    return on
