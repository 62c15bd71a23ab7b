"""Classroom mode, around every page: this browser's work saved and restored, the projector
view, "Share this setup" and "Start afresh".

Home.py runs each page inside ``around_the_page``. Before the page: on a session's first
run, find this browser (its cookie), load what it saved and open a shared setup link;
on every run, put back settings Streamlit forgot when the student was on another page.
After the page, even when it stopped early or a click interrupted it: save what changed.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib.persistence.browser import (COOKIE, cookie_script, new_browser_id, parse_browser_id,
                                     session_key)
from lib.persistence.in_flight import RunsInFlight
from lib.persistence.saved_session import SavedSession
from lib.persistence.setup_link import (PARAM, SetupLinkError, SetupTooLong, qr_png,
                                        setup_url, unpack)
from lib.persistence.shared_store import SharedStore
from lib.persistence.store import DEFAULT_DAYS
from lib.ui import projector
from lib.what_is_saved import CODEC, SAVED_KEYS

STORE = SharedStore()
IN_FLIGHT = RunsInFlight()
SAVED = "lab_saved_session"  # this session's SavedSession (never saved itself)
SESSION_KEY = "lab_session_key"  # the store's name for this browser
COOKIE_SCRIPT = "lab_cookie_script"
NOTICES = "lab_classroom_notices"  # said once, on the next run drawn
# Start afresh keeps the room's projector, what this browser used of the shared key (the
# caps still count), and the answers being streamed (the next run settles them).
KEPT_ON_START_AFRESH = {SAVED, SESSION_KEY, COOKIE_SCRIPT, "lab_projector", "lab_usage",
                        "chat_active_turn", "compare_active"}


@contextmanager
def around_the_page(page: str) -> Iterator[None]:
    """Run the page ``page`` (a lesson slug, or "home") with this browser's work kept."""
    saved = st.session_state.get(SAVED)
    if saved is None:
        saved = _start_session()
    else:
        state = st.session_state.to_dict()
        for key, value in {**saved.forgotten_settings(state), **saved.catch_up(state)}.items():
            st.session_state[key] = value
    projector.apply(st.sidebar)
    _share_and_start_afresh(saved, page)
    _notices()
    saving_problems = st.empty()  # above the page, filled after it: what this run's save said
    _show_saving_problems(saving_problems, saved)
    ctx = get_script_run_ctx()
    with IN_FLIGHT.running(st.session_state[SESSION_KEY], ctx.session_id if ctx else ""):
        try:
            yield
        except BaseException:
            _save(saved)  # a click, a reload, st.stop(): no drawing now, the next run says it
            raise
        _save(saved)
        _show_saving_problems(saving_problems, saved)


def _save(saved: SavedSession) -> None:
    # to_dict(), not the session state itself: once Streamlit has asked this run to stop (a
    # reload, a closed tab), every item access raises StopException, and this save is what
    # keeps the answer the run was streaming.
    saved.save(st.session_state.to_dict())


def _start_session() -> SavedSession:
    """This browser's saved work, loaded into a new session (a reload, a new tab, a phone
    that woke up), and any shared setup the link carries."""
    raw = st.context.cookies.get(COOKIE)
    browser_id = parse_browser_id(raw)
    notices = st.session_state.setdefault(NOTICES, [])
    if isinstance(raw, str) and raw and browser_id is None:
        notices.append(("warning", "This browser's saved-session cookie was not one of ours "
                                   "(edited or damaged?), so this is a new, empty session."))
    saved = _new_saved_session(browser_id or new_browser_id(), new_browser=browser_id is None)
    ctx = get_script_run_ctx()
    if ctx is not None:
        IN_FLIGHT.wait_for_ended_sessions(st.session_state[SESSION_KEY], ctx.session_id,
                                          _connected)
    for name, value in saved.load().items():
        st.session_state[name] = value
    projector.from_link()
    _open_setup_link(saved, notices)
    return saved


def _new_saved_session(browser_id: str, new_browser: bool) -> SavedSession:
    key = st.session_state[SESSION_KEY] = session_key(browser_id)
    saved = st.session_state[SAVED] = SavedSession(STORE.get, key, SAVED_KEYS, CODEC,
                                                   new_browser=new_browser, report=STORE.report)
    # Set (again) on every new session: the cookie lives as long as the saved work, which
    # is kept for LAB_STORE_DAYS after its last use.
    store, _ = STORE.get()
    st.session_state[COOKIE_SCRIPT] = cookie_script(browser_id, getattr(store, "days", DEFAULT_DAYS))
    return saved


def _connected(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    return not Runtime.exists() or Runtime.instance().is_active_session(session_id)


def _open_setup_link(saved: SavedSession, notices: list) -> None:
    token = st.query_params.get(PARAM)
    if token is None:
        return
    del st.query_params[PARAM]  # applied once: a reload keeps what the student changes next
    try:
        values = unpack(token)
    except SetupLinkError as exc:
        notices.append(("warning", str(exc)))
        return
    adopted = saved.adopt(values)
    for name, value in adopted.items():
        st.session_state[name] = value
    left_out = len(values) - len(adopted)
    notices.append(("info", f"Opened a shared setup ({len(adopted)} settings"
                            + (f"; {left_out} that don't fit this app were left out" if left_out
                               else "")
                            + "). Nothing of the person who shared it came with it: no key, no "
                              "conversation."))


def _notices() -> None:
    script = st.session_state.get(COOKIE_SCRIPT)
    if script:  # hidden: projector.py's CSS keeps this container out of the layout
        with st.container(key="lab_cookie"):
            st.html(script, unsafe_allow_javascript=True)
    for kind, text in st.session_state.pop(NOTICES, []):
        getattr(st, kind)(text, icon="💾")


def _show_saving_problems(slot, saved: SavedSession) -> None:
    problems = ([saved.problem] if saved.problem else []) + list(saved.too_big.values())
    if problems:
        with slot.container():
            for text in problems:
                st.warning(text, icon="💾")
    else:
        slot.empty()


def _share_and_start_afresh(saved: SavedSession, page: str) -> None:
    if st.sidebar.button("🔗 Share this setup", key="lab_share", width="stretch",
                         help="A link (and a QR code) that opens this page with the same "
                              "prompt, model and knobs. No key, no conversation."):
        values = saved.current(st.session_state.to_dict(), SAVED_KEYS.shared_on(page))
        _share_dialog(st.context.url or "", values)
    with st.sidebar.popover("🧹 Start afresh", width="stretch",
                            help="For a shared computer: forget everything this browser saved."):
        st.write("Forget everything this browser saved here (conversations, settings, "
                 "results) and any key typed in this tab? Every page opens as new.")
        st.button("Forget it all", key="lab_forget", type="primary", on_click=_start_afresh)


def _start_afresh() -> None:
    """A callback, before the page is drawn. The browser gets a new id (a new cookie), so
    nothing saved under the old one can come back, even if deleting it failed; its other
    tabs still write under the old id, which nobody will read again."""
    st.session_state[SAVED].forget()
    for client in st.session_state.get("lab_providers", {}).values():
        client.close()
    for key in list(st.session_state.to_dict()):
        if key not in KEPT_ON_START_AFRESH:
            del st.session_state[key]
    _new_saved_session(new_browser_id(), new_browser=True)
    st.session_state[NOTICES] = [("success", "Started afresh: nothing this browser saved "
                                             "before is kept.")]


@st.dialog("Share this setup", width="large")
def _share_dialog(page_url: str, values: dict) -> None:
    st.write("Whoever opens this link gets this page with your prompt, model, knobs and "
             "schema. Not your key, your conversation or your results.")
    try:
        url = setup_url(page_url, values)
    except SetupTooLong as exc:
        st.warning(str(exc))
        return
    st.code(url, language=None, wrap_lines=True)
    try:
        st.image(qr_png(url), caption="Scan to open it on a phone", width=320)
    except ValueError:  # segno: too much for a QR code
        st.caption("This setup is too long for a QR code (a long prompt?): share the link.")
