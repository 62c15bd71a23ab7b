"""classroom_mode.py part 2: streaming with and without the store. A page per app imports the
conversation and asks for 2,000 paced tokens; with the store on, every SQLite commit in the turn
is watched."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path

from classroom.browser import CHAT_INPUT, open_chat, pick_model, set_max_tokens, wait_ready
from classroom.conversation import MESSAGES
from classroom.mode_servers import TOKENS, App
from classroom.sessions import browser_key, new_context, saved_session

MESSAGE = '[data-testid="stChatMessage"]'

# browser_stream.py's: when each token number " wK" is first on screen.
STREAM_WATCH = """() => {
  window.__seen = {};
  window.__enter = null;
  if (!window.__enterListener) {
    window.__enterListener = true;
    document.addEventListener("keydown", e => {
      if (e.key === "Enter" && window.__enter === null) window.__enter = performance.now();
    }, true);
  }
  const record = () => {
    const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
    if (!messages.length) return;
    const text = messages[messages.length - 1].innerText;
    const match = text.match(/w(\\d+)\\s*$/m) || [...text.matchAll(/w(\\d+)/g)].pop();
    if (!match) return;
    const last = parseInt(match[1]);
    if (!(last in window.__seen)) window.__seen[last] = performance.now();
  };
  if (window.__streamObserver) window.__streamObserver.disconnect();  // the last round's
  window.__streamObserver = new MutationObserver(record);
  window.__streamObserver.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


class CommitWatch(threading.Thread):
    """Every commit another connection makes to the SQLite file while a turn runs (from
    `PRAGMA data_version`, polled every `interval` s on a read-only connection), and what
    this browser's saved conversation was right after it: (epoch s, messages, whether the
    last one is the complete answer). A commit before the complete answer would be a store
    write while streaming."""

    def __init__(self, path: Path, session: str, interval: float = 0.02) -> None:
        super().__init__(daemon=True, name="commit-watch")
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.session, self.interval = session, interval
        self.commits: list[tuple[float, int, bool]] = []
        self._halt = threading.Event()
        self._version = self.db.execute("PRAGMA data_version").fetchone()[0]

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            version = self.db.execute("PRAGMA data_version").fetchone()[0]
            if version == self._version:
                continue
            seen = time.time()
            self._version = version
            row = self.db.execute("SELECT value FROM saved WHERE session = ? AND name = 'chat_history'",
                                  (self.session,)).fetchone()
            history = json.loads(row[0]) if row else []
            complete = bool(history) and history[-1].get("content", "").endswith(f"w{TOKENS}")
            self.commits.append((seen, len(history), complete))

    def finish(self) -> list[tuple[float, int, bool]]:
        self._halt.set()
        self.join(timeout=2)
        self.db.close()
        return self.commits


class Streamer:
    """One app's page for part 2: opened once (model "paced", max_tokens 2000); each round
    imports a 50-message conversation (replacing the one before) and asks."""

    def __init__(self, label: str, app: App, commit_path: Path | None, store) -> None:
        self.label, self.app, self.commit_path, self.store = label, app, commit_path, store

    async def open(self, browser) -> None:
        self.context = await new_context(browser)
        self.page = await self.context.new_page()
        await open_chat(self.page, self.app.url)
        await pick_model(self.page, "paced")
        await set_max_tokens(self.page, TOKENS)
        self.key = await browser_key(self.context)

    async def close(self) -> None:
        if getattr(self, "context", None) is not None:
            await self.context.close()

    async def round(self, upload: Path, failures: list, label: str) -> dict:
        page, watch = self.page, None
        try:
            await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
            await page.wait_for_function(
                f"() => {{ const m = document.querySelectorAll('{MESSAGE}');"
                f" return m.length === {MESSAGES} && m[{MESSAGES - 1}].textContent.includes('(msg-{MESSAGES})'); }}",
                timeout=60_000, polling=100)
            await wait_ready(page, timeout=60_000)
            if (shown := await page.locator(MESSAGE).count()) != MESSAGES:
                failures.append(f"stream/{label}: {shown} messages after the import, not {MESSAGES}")
            await page.evaluate(STREAM_WATCH)
            await page.locator(CHAT_INPUT).fill(f"Count to {TOKENS}, one word at a time.")
            if self.commit_path is not None:
                watch = CommitWatch(self.commit_path, self.key)
                watch.start()
            await page.locator(CHAT_INPUT).press("Enter")
            await page.wait_for_function(f"() => window.__seen && window.__seen[{TOKENS}] !== undefined",
                                         timeout=120_000, polling=20)
            await wait_ready(page, timeout=60_000)
            await asyncio.sleep(0.3)  # the save after the run: the poller sees it within 20 ms
            commits = watch.finish() if watch else []
            watch = None
        finally:
            if watch:
                watch.finish()
        got = await page.evaluate("() => ({seen: window.__seen, enter: window.__enter,"
                                  " origin: performance.timeOrigin})")
        seen = {int(k): v for k, v in got["seen"].items()}
        # The rate at which the answer advanced on screen over its last 90 % (the first
        # tokens' time on screen also holds the page's first draw of the answer).
        k0 = min((k for k in seen if k >= TOKENS // 10), default=min(seen))
        last = seen[TOKENS]
        row = {"tok_s": (TOKENS - k0) / ((last - seen[k0]) / 1000),
               "enter_to_last_s": (last - got["enter"]) / 1000 if got["enter"] else None}
        if self.commit_path is not None:
            last_epoch = (got["origin"] + last) / 1000
            early = [c for c in commits if not c[2]]
            final = [c for c in commits if c[2]]
            row["commits_before_answer_complete"] = len(early)
            row["commits"] = len(commits)
            # Negative when the page drew the last token after the save (the browser behind).
            row["save_after_last_token_ms"] = (final[0][0] - last_epoch) * 1000 if final else None
            if early or len(final) != 1:
                failures.append(f"stream/{label}: commits during the turn {commits} (expected one, "
                                f"with the complete answer)")
            saved = saved_session(self.store, self.key).load()
            history = saved.get("chat_history") or []
            if len(history) != MESSAGES + 2 or f"w{TOKENS}" not in history[-1].get("content", ""):
                failures.append(f"stream/{label}: the store holds {len(history)} messages after the "
                                f"turn (expected {MESSAGES + 2}, the last ending w{TOKENS})")
            row["saved"] = saved
        return row
