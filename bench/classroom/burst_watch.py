"""What classroom_mode.py part 3 watches in each of its sessions: the turn in the page
(TURN_WATCH), the turn and the reload as Chromium's network stack saw them (WireClock), and
the saved conversation landing in the SQLite file (SaveWatch)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from classroom.browser import WireClock as TurnClock
from classroom.cpu_memory import cpu_seconds
from tests.servers.fault_server import OK_PIECES

OK_TEXT = "".join(OK_PIECES)

# Part 3: the Enter keydown in the chat input and the answer's metrics row, epoch ms.
TURN_WATCH = """() => {
  const now = () => performance.timeOrigin + performance.now();
  const t = window.__turn = {enter: null, done: null};
  t.finished = new Promise(resolve => { t.resolve = resolve; });
  document.addEventListener("keydown", e => {
    if (e.key === "Enter" && t.enter === null && e.target.matches('[data-testid="stChatInputTextArea"]'))
      t.enter = now();
  }, true);
  const observer = new MutationObserver(() => {
    if (t.enter === null || t.done !== null) return;
    const msgs = document.querySelectorAll('[data-testid="stChatMessage"]');
    if (msgs.length >= 2 && msgs[msgs.length - 1].textContent.includes("Finish reason")) {
      t.done = now(); observer.disconnect(); t.resolve(true);
    }
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


class SaveWatch(threading.Thread):
    """Polls the SQLite file (read-only) until each expected session's saved conversation is
    exactly [its question, the scripted answer]; notes when each landed (epoch s)."""

    def __init__(self, path: Path, expected: dict[str, str], app_pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True, name="save-watch")
        self.path, self.expected, self.interval, self.app_pid = path, expected, interval, app_pid
        self.app_cpu_all_landed: float | None = None  # the app's CPU seconds then
        self.landed: dict[str, float] = {}
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            while not self._halt.wait(self.interval) and len(self.landed) < len(self.expected):
                try:
                    rows = db.execute("SELECT session, value FROM saved WHERE name = 'chat_history'").fetchall()
                except sqlite3.Error as exc:
                    self.errors.append(str(exc))
                    continue
                now = time.time()
                for session, value in rows:
                    prompt = self.expected.get(session)
                    if prompt is None or session in self.landed:
                        continue
                    history = json.loads(value)
                    if (len(history) == 2 and history[0].get("content") == prompt
                            and history[1].get("content") == OK_TEXT):
                        self.landed[session] = now
                if len(self.landed) == len(self.expected):
                    self.app_cpu_all_landed = cpu_seconds(self.app_pid)
        finally:
            db.close()

    def finish(self) -> None:
        self._halt.set()
        self.join(timeout=2)


class WireClock(TurnClock):
    """One page's turn and reload as Chromium's network stack saw them (DevTools protocol,
    its monotonic clock, s), before the renderer draws anything: classroom.browser's clock (the
    websocket frame that sent the question, which carries the session's token; the first
    frame back with the metrics row, "Finish reason": `done`) and, after `arm_reload`, the
    reload's document request and the first frame carrying the restored answer. The gap to
    the on-screen times is the renderers' backlog (the harness's one browser short of CPU),
    not the app."""

    def __init__(self, token: str, answer: str) -> None:
        super().__init__(token, None)  # no first-word marker: "ok"'s answer is short
        self.armed = True  # attached once the question is typed, so its frame is the first with the token
        self.answer = answer.encode()
        self.nav = self.restored = None
        self.reloading = False

    async def attach(self, page) -> None:
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.webSocketFrameSent", self._sent)
        cdp.on("Network.webSocketFrameReceived", self._received)
        cdp.on("Network.requestWillBeSent", self._request)
        await cdp.send("Network.enable")

    def arm_reload(self) -> None:
        self.reloading = True

    def _request(self, event) -> None:
        if self.reloading and self.nav is None and event.get("type") == "Document":
            self.nav = event["timestamp"]

    def _received(self, event) -> None:
        super()._received(event)
        if self.nav is not None and self.restored is None and self.answer in self._payload(event):
            self.restored = event["timestamp"]

    def figures(self) -> tuple[float | None, float | None]:
        """(question sent -> metrics row received, reload -> restored answer received)."""
        answer = self.done - self.sent if self.sent and self.done else None
        reload = self.restored - self.nav if self.nav and self.restored else None
        return answer, reload
