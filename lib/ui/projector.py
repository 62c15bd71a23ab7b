"""Projector mode: the page as it should look on a classroom screen (``?projector=1``).

Text and code large enough to read from the back of a room at 1280x720, and nothing a
projection doesn't need: Streamlit's Deploy button and menu, the sidebar (folded away: the
arrow at the top left brings it back), most of the padding. Long lines wrap instead of
running off the screen: the wire panel's JSON and server-sent events stay readable beside
the chat. The toggle is the room's choice, so a shared setup link doesn't carry it.
"""

from __future__ import annotations

import streamlit as st

KEY = "lab_projector"
PARAM = "projector"

# Always: keep the cookie-setting element (lib/ui/classroom.py) and the sidebar-folding
# script below out of the layout.
BASE_CSS = ".st-key-lab_cookie, .st-key-lab_projector_fold { display: none; }"

# Every size in Streamlit's own styles is in rem, so a larger root font scales the widgets,
# spacing and headings together; text and code then get sizes of their own, in px, so what
# a room reads does not depend on the theme (body 24, captions 20, code and JSON 18). Those
# are for the main area only: the sidebar, folded away, just grows with the root font.
# The chat page keeps chat and wire panel side by side (3:2): at 18px the panel's wrapped
# JSON and events (~40 characters a line) read well, and both stream in view at once.
PROJECTOR_CSS = """
html { font-size: 22px; }
[data-testid="stHeader"] { height: 2.6rem; min-height: 2.6rem; }
[data-testid="stToolbarActions"], [data-testid="stAppDeployButton"], [data-testid="stMainMenu"],
[data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"]
  { padding: 2.6rem 1.25rem 2rem !important; max-width: 100% !important; }
[data-testid="stBottomBlockContainer"]
  { padding: 0.5rem 1.25rem 1rem !important; max-width: 100% !important; }
.stMain h1 { font-size: 44px !important; padding-top: 0.25rem !important; }
.stMain h2 { font-size: 36px !important; }
.stMain h3 { font-size: 30px !important; }
.stMain [data-testid="stMarkdownContainer"] p, .stMain [data-testid="stMarkdownContainer"] li
  { font-size: 24px; line-height: 1.45; }
.stMain [data-testid="stCaptionContainer"], .stMain [data-testid="stCaptionContainer"] p
  { font-size: 20px; color: inherit; opacity: 0.75; }
.stMain [data-testid="stMetricValue"] p { font-size: inherit; }
.stMain [data-testid="stTab"] p { font-size: 22px; }
.stMain input, .stMain textarea, .stMain [data-baseweb="select"] *,
[data-testid="stChatInputTextArea"] { font-size: 22px !important; }
.stMain [data-testid="stMarkdownContainer"] code { font-size: 0.85em; }
.stMain pre, .stMain pre code, .stMain [data-testid="stCode"] code, .stMain [data-testid="stJson"],
.stMain [data-testid="stJson"] * { font-size: 18px !important; line-height: 1.4; }
.stMain pre, .stMain pre code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
.stMain [data-testid="stJson"] .string-value
  { word-break: normal !important; overflow-wrap: anywhere; }
"""

# The sidebar folds by itself in projector mode (st.set_page_config below), unless this
# browser once opened or closed it by hand: Streamlit then remembers that choice
# (localStorage) and ignores the page's. This script folds it once when projector mode starts
# (a projected page loaded, or the toggle switched on); reruns while it stays on leave the
# sidebar where the teacher put it.
FOLD_SCRIPT = """<script>
(() => {
  if (window.labProjectorFolded) return;
  window.labProjectorFolded = true;
  let tries = 0;
  const fold = () => {
    const sidebar = document.querySelector('[data-testid="stSidebar"]');
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (sidebar && sidebar.dataset.collapsed === "true") return;
    if (sidebar && button) { button.click(); return; }
    if (++tries < 20) setTimeout(fold, 100);
  };
  setTimeout(fold, 100);
})();
</script>"""
UNFOLD_SCRIPT = "<script>window.labProjectorFolded = false;</script>"


def from_link() -> None:
    """A session's first run: ``?projector=1`` (or 0) sets the mode."""
    value = st.query_params.get(PARAM)
    if value is not None:
        st.session_state[KEY] = value.strip().lower() in ("1", "true", "on", "yes")


def _follow(on: bool) -> None:
    """The address says the mode too, so a reload of the projected page stays projected, on
    whichever page: Streamlit drops the query string when the student moves to another."""
    if on and st.query_params.get(PARAM) != "1":
        st.query_params[PARAM] = "1"
    elif not on and PARAM in st.query_params:
        del st.query_params[PARAM]


def apply(sidebar) -> bool:
    """The toggle (in the sidebar) and the page's styles; whether projector mode is on."""
    on = sidebar.toggle("📽️ Projector mode", key=KEY,
                        help="Large text for a classroom screen; the sidebar folds away "
                             "(its arrow, top left, brings it back). Or add ?projector=1 "
                             "to the address.")
    _follow(on)
    st.set_page_config(initial_sidebar_state="collapsed" if on else "auto")
    with sidebar.container(key="lab_projector_fold"):  # hidden by BASE_CSS
        st.html(FOLD_SCRIPT if on else UNFOLD_SCRIPT, unsafe_allow_javascript=True)
    st.html(f"<style>{BASE_CSS}{PROJECTOR_CSS if on else ''}</style>")
    return on
