"""A browser's saved session in classroom_mode.py, from both sides: the app's own SavedSession
on a store, the store's name for a context's browser (from its cookie), and contexts whose pages
time their reloads (RELOAD_WATCH) and show their state (PAGE_STATE_JS)."""

from __future__ import annotations

import asyncio
import time

from classroom.browser import new_context as plain_context
from lib.persistence.browser import COOKIE, session_key
from lib.persistence.saved_session import SavedSession
from lib.what_is_saved import CODEC, SAVED_KEYS
from tests.servers.streamlit_app import APP_READY

# In every page of a context, from the document's start: when the chat input is drawn, when
# the run is over (input drawn, connected, script not running), and per message count n the
# first moment n messages are there and the n-th has text. performance.now(): 0 = this
# document's navigation start, i.e. the reload.
RELOAD_WATCH = """(() => {
  const w = window.__rl = {heading: null, input: null, ready: null, full: {}, waiters: []};
  const READY = '""" + APP_READY.replace("'", "\\'") + """';
  // A promise for "n messages drawn and the run over" (n = 0: the run over): the harness
  // awaits it instead of polling 30 pages over the DevTools protocol.
  w.until = n => new Promise(resolve => { w.waiters.push([n, resolve]); check(); });
  const settle = () => {
    w.waiters = w.waiters.filter(([n, resolve]) => {
      if (w.ready === null || (n !== 0 && w.full[n] === undefined)) return true;
      resolve(true);
      return false;
    });
  };
  const check = () => {
    const now = performance.now();
    if (w.heading === null && document.querySelector('h1')) w.heading = now;
    if (w.input === null && document.querySelector('[data-testid="stChatInputTextArea"]')) w.input = now;
    const msgs = document.querySelectorAll('[data-testid="stChatMessage"]');
    const n = msgs.length;
    if (n && !(n in w.full)) {
      const text = msgs[n - 1].querySelector('[data-testid="stMarkdownContainer"]');
      if (text && text.textContent.trim().length) w.full[n] = now;
    }
    if (w.ready === null && w.input !== null && document.querySelector(READY)) w.ready = now;
    if (w.waiters.length) settle();
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true,
      attributes: true, attributeFilter: ["data-test-script-state", "data-test-connection-state"]});
})();"""

PAGE_STATE_JS = """() => ({
  texts: [...document.querySelectorAll('[data-testid="stChatMessage"]')].map(m => m.textContent),
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  dom: document.body.textContent,
})"""


def saved_session(store, key: str, new_browser: bool = False) -> SavedSession:
    """The app's own SavedSession (SAVED_KEYS, CODEC) on `store`, for browser `key`.
    `new_browser`: an id just made, with nothing saved under it yet; otherwise the session
    writes only after it has loaded (as the app's do)."""
    return SavedSession(lambda: (store, None), key, SAVED_KEYS, CODEC, new_browser=new_browser)


async def browser_key(context, timeout: float = 20.0) -> str:
    """The store's name for this context's browser: sha256 of its `hll_browser` cookie,
    which the page's injected script sets."""
    deadline = time.monotonic() + timeout
    while True:
        for cookie in await context.cookies():
            if cookie["name"] == COOKIE:
                return session_key(cookie["value"])
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {COOKIE} cookie after {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def new_context(browser, *, animations: bool = True):
    """classroom.browser's context, with RELOAD_WATCH in every page."""
    context = await plain_context(browser, animations)
    await context.add_init_script(RELOAD_WATCH)
    return context


async def timed_reload(page, messages: int, timeout: float = 90_000) -> dict:
    """Reload; wait until `messages` messages are drawn (0: until the run is over).
    Times in s from the reload's navigation start, and from the reload call."""
    called = time.time() * 1000
    await page.reload(timeout=timeout)
    await asyncio.wait_for(page.evaluate("(n) => window.__rl.until(n)", messages), timeout / 1000)
    rl = await page.evaluate("() => ({...window.__rl, origin: performance.timeOrigin})")
    restored = rl["full"].get(str(messages)) if messages else rl["ready"]
    return {"restored_s": restored / 1000, "ready_s": rl["ready"] / 1000,
            "input_s": rl["input"] / 1000 if rl["input"] is not None else None,
            "heading_s": rl["heading"] / 1000 if rl["heading"] is not None else None,
            "from_call_s": (rl["origin"] + restored - called) / 1000}
