"""Classroom mode (issue 17, item 4): what saving each browser's work server-side costs.

Every page runs inside lib/ui/classroom.py `around_the_page`: a new session loads its
browser's saved work (cookie `hll_browser`), and every run saves what changed. Three parts,
on the real app (`streamlit run Home.py`) in headless Chromium, OPENAI_BASE_URL at the tests'
fault server:

1. Reload -> restored, 50 messages, SQLite (LAB_STORE_URL=sqlite:////file) and Redis
   (Debian's redis-server on 127.0.0.1), one app each, both running, their reloads
   interleaved (the machine is shared: both see the same load). Per app, one browser context
   opens /Streaming_Chat; its saved session is then given a 50-message conversation (25 user,
   25 assistant, 100-600 chars, the answers with their `usage` and the last with its
   `request`, as ChatTurn keeps them) through the real store API (`SavedSession.save` with
   the app's SAVED_KEYS and CODEC) under the browser's id from the context's cookie. Then
   --reloads times `page.reload()`, timed in the page by an init script's MutationObserver
   (performance.now(), 0 = the reload's navigation start): the lesson heading drawn, the
   50th [data-testid="stChatMessage"] with its text ("restored"; each reload also checks all
   50 are there in order), and the run over (chat input drawn, connected, script not
   running: the chat input only shows then). A second context, whose saved session holds
   no conversation, is reloaded alongside: the same marks.
2. Streaming with the store on (SQLite) vs LAB_STORE_URL=off, same conversation: each round
   is a fresh context that picks model "paced", max_tokens 2000, imports the 50-message
   conversation (the page's own JSON upload, the same for both apps) and asks; the fault
   server (its own process) streams 2,000 tokens at 200 tok/s. In the page (browser_stream.py's
   observer): tok/s = the rate the answer advanced on screen from token 200 to token 2000, and
   Enter -> last token. Rounds alternate on/off. Goal: tok/s on >= 0.95 x off. With the store
   on, a read-only connection polls SQLite's `PRAGMA data_version` every 20 ms and reads this
   browser's saved conversation at each commit: there must be exactly one commit in the turn,
   holding the complete answer (none while streaming), and the store then holds 52 messages;
   reported: when it landed relative to the last token on screen (negative: the page drew the
   last token after the save, i.e. the browser was behind).
   Then, in this process, one save's cost: `SavedSession.save` on a realistic session state
   (the settings the app saved in those rounds, the 50-message conversation, keys that are
   never saved) after a turn (two messages changed each time), median/p95 ms, on a fresh
   SQLite file and on the Redis server; also a save with nothing changed (what every rerun
   pays: every saved key is encoded to compare), a load, and the conversation's encoding alone.
3. 30 sessions writing at once on ONE app process (SQLite; in-process fault server, model
   "ok": five fast deltas). One session goes alone first through the UI (picks "ok", asks,
   reloads: warm-up and baseline); the settings the app saved for it are then written for 30
   new browser ids (the cookie the app's script would set, added to each context), so each
   page opens with "ok" picked. All press Enter together, each question carrying its own
   token ("session-07-3fa9c2"); each page reloads as soon as its own answer is on screen
   ("Finish reason"), while the others are still answering. A thread polls the SQLite file
   (read-only) until each session's saved conversation is [its question, the scripted
   answer]. Reported: request at the fault server, saves landed, all saves landed (from the
   common Enter), answer on screen, reload -> restored (both messages drawn) p50/p95, and the
   same two events as websocket frames reaching Chromium's network stack (CDP), before the
   renderer draws; the app's CPU seconds in the burst. Checks: each reloaded page, and each
   saved session (through SavedSession.load), hold their own token and no other; the server
   got one request per token; no stException; no Traceback in any app log. CSS animations
   are off in these 30 pages, and from the Enter on Chromium runs at nice 19 (--browser-nice;
   classroom_load.py does the same): the harness's 30 renderers share the 2 cores with the
   app, and a class brings its own laptops.

Each reload also notes the app's CPU time it cost (/proc, 10 ms ticks). About half of it is
Streamlit's `gc.collect(2)` after every script run (runner.postScriptGC, on by default);
--no-post-script-gc runs the apps without it, for comparison.

Only 127.0.0.1 is contacted. Bounded: each part has a budget (what is still pending when it
runs out is reported), and a watchdog kills the apps, Redis and the fault server and exits at
--deadline + 30 s (default deadline 570 s). The load average is printed along the way.

Usage: .venv/bin/python bench/classroom_mode.py [--parts 1,2,3] [--reloads 7] [--rounds 4]
       [--sessions 30] [--saves 200] [--deadline 570] [--browser-nice 19]
       [--no-post-script-gc] [--keep]
Last line JSON: {"reload": {"sqlite": {...}, "redis": {...}}, "stream": {...}, "save": {...},
"class": {...}, "ok": bool, "failures": [...], "loadavg": {...}, "part_wall_s", "wall_s"};
times in s unless named _ms; each figure {p50, p90, p95, max, n} (nearest-rank).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # classroom_load (as a script, bench/ is sys.path[0] already)

# classroom_load.py's helpers (importing it runs nothing): the same browser, page driving,
# /proc reading and statistics as that benchmark.
from classroom_load import (  # noqa: E402
    CHAT_INPUT, CHROMIUM, CHROMIUM_ARGS, SIDEBAR, TOKEN_RE, TOPICS,
    TimedFaultServer, base_env, cpu_seconds, gather_limited, open_chat, pct, pick_model,
    renice_browser, set_max_tokens, short, wait_ready)
from classroom_load import WireClock as TurnClock  # noqa: E402
from classroom_load import new_context as plain_context  # noqa: E402
from lib.persistence.browser import COOKIE, new_browser_id, session_key  # noqa: E402
from lib.persistence.redis_store import RedisStore  # noqa: E402
from lib.persistence.saved_session import SavedSession  # noqa: E402
from lib.persistence.sqlite_store import SQLiteStore  # noqa: E402
from lib.what_is_saved import CODEC, SAVED_KEYS  # noqa: E402
from tests.persistence.redis_server import start_redis  # noqa: E402
from tests.servers.fault_server import OK_PIECES  # noqa: E402
from tests.servers.processes import free_port  # noqa: E402
from tests.servers.streamlit_app import APP_READY, start_app  # noqa: E402

MESSAGE = '[data-testid="stChatMessage"]'
MESSAGES = 50
TOKENS, PACE = 2000, 200.0
OK_TEXT = "".join(OK_PIECES)
MARK_RE = re.compile(r"\(msg-(\d{2})\)")
RUNNING: list = []  # ServerProcess / Popen objects the watchdog must not leave behind
GC_ENV: dict[str, str] = {}  # --no-post-script-gc: the apps skip Streamlit's gc.collect(2) per run

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

PAGE_STATE_JS = """() => ({
  texts: [...document.querySelectorAll('[data-testid="stChatMessage"]')].map(m => m.textContent),
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  dom: document.body.textContent,
})"""

WORDS = ("the model reads every token of the prompt again on each request so a longer chat "
         "costs more and takes longer before the first word arrives while streaming shows "
         "words as they are sampled from the distribution with temperature top p and a seed "
         "Paris museum train ticket budget weather itinerary morning evening walk river "
         "context window system prompt answer latency price per million tokens cache").split()


# --- helpers -------------------------------------------------------------------------------

def summary(values: list[float | None], digits: int = 3) -> dict:
    """Not classroom_load's summary: this one's JSON also has p90, and the CPU and save
    figures are rounded to other digits than 3 (that benchmark's JSON has neither)."""
    present = [v for v in values if v is not None]
    r = lambda v: None if v is None else round(v, digits)  # noqa: E731
    return {"p50": r(statistics.median(present)) if present else None, "p90": r(pct(present, 90)),
            "p95": r(pct(present, 95)), "max": r(max(present)) if present else None,
            "n": len(present), "all": [r(v) for v in values]}


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 15))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, length: int) -> str:
    text = ""
    while len(text) < length:
        text += sentence(rng) + " "
    return text.strip()


def conversation(seed: int = 17, messages: int = MESSAGES) -> list[dict]:
    """`messages` alternating user/assistant, as the chat page keeps them after that many
    turns: user 100-250 chars, assistant 300-600 (sometimes two paragraphs or a list), each
    answer with its `usage`, the newest with the `request` it came from. Message k carries
    the marker "(msg-kk)" so a restored page can be checked message by message."""
    rng = random.Random(seed)
    history: list[dict] = []
    prompt_tokens = 40
    for k in range(1, messages + 1):
        mark = f"(msg-{k:02d})"
        if k % 2:
            history.append({"role": "user", "content": f"{mark} " + paragraph(rng, rng.randint(95, 240))})
            continue
        body = paragraph(rng, rng.randint(290, 590))
        if rng.random() < 0.3:
            half = len(body) // 2
            cut = body.find(". ", half)
            body = body if cut < 0 else body[:cut + 1] + "\n\n" + body[cut + 2:]
        elif rng.random() < 0.3:
            body = body[:200] + "\n\n- " + sentence(rng) + "\n- " + sentence(rng)
        text = f"{mark} {body}"
        prompt_tokens += sum(len(m["content"]) for m in history[-1:]) // 4
        history.append({"role": "assistant", "content": text,
                        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4,
                                  "estimate": False, "cost": None}})
        prompt_tokens += len(text) // 4
    last = history[-1]
    last["request"] = [{"role": m["role"], "content": m["content"]} for m in history[:-1]]
    return history


def saved_session(store, key: str, new_browser: bool = False) -> SavedSession:
    """The app's own SavedSession (SAVED_KEYS, CODEC) on `store`, for browser `key`.
    `new_browser`: an id just made, with nothing saved under it yet; otherwise the session
    writes only after it has loaded (as the app's do)."""
    return SavedSession(lambda: (store, None), key, SAVED_KEYS, CODEC, new_browser=new_browser)


def page_marks(texts: list[str]) -> list[int]:
    return [int(m.group(1)) if (m := MARK_RE.search(t)) else -1 for t in texts]


def new_fault_process() -> tuple[subprocess.Popen, str]:
    """The fault server in its own process (as browser_stream.py runs it): pacing is not
    disturbed by this process's Playwright client."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.fault_server", "--port", str(port), "--pace", str(PACE)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    RUNNING.append(proc)
    proc.stdout.readline()  # "Fault server on ..." once it listens
    return proc, f"http://127.0.0.1:{port}/v1"


class App:
    """One `streamlit run` of the app (its own HOME and log), stopped by close()."""

    def __init__(self, name: str, workdir: Path, env: dict) -> None:
        self.name, self.log_path = name, workdir / f"app-{name}.log"
        home = workdir / f"home-{name}"
        home.mkdir()
        started = time.monotonic()
        self.process, self.url = start_app(self.log_path, home, base_env(env))
        self.start_s = round(time.monotonic() - started, 2)
        RUNNING.append(self.process)

    def close(self) -> None:
        self.process.stop()
        if self.process in RUNNING:
            RUNNING.remove(self.process)

    def tracebacks(self) -> tuple[int, str]:
        log = self.log_path.read_text(errors="replace")
        count = log.count("Traceback")
        first = log[log.index("Traceback"):][:600].replace("\n", " | ") if count else ""
        return count, first


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
    """classroom_load's context, with RELOAD_WATCH in every page."""
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


# --- part 1: reload -> restored ------------------------------------------------------------

class ReloadSubject:
    """One app's two browsers for part 1: one whose saved session holds the 50-message
    conversation (written through the store API under its cookie's id), one empty."""

    def __init__(self, kind: str, app: App, store) -> None:
        self.kind, self.app, self.store = kind, app, store
        self.rows_full: list[dict] = []
        self.rows_empty: list[dict] = []

    async def prepare(self, browser, conv: list[dict], failures: list) -> None:
        self.failures = failures
        self.full_ctx = await new_context(browser)
        self.empty_ctx = await new_context(browser)
        self.full, self.empty = await self.full_ctx.new_page(), await self.empty_ctx.new_page()
        await open_chat(self.full, self.app.url)
        await open_chat(self.empty, self.app.url)
        key = await browser_key(self.full_ctx)
        await browser_key(self.empty_ctx)
        written = saved_session(self.store, key)
        state = written.load()  # what the page saved so far: it must know, or it won't write
        state["chat_history"] = conv
        started = time.perf_counter()
        written.save(state)
        self.write_ms = (time.perf_counter() - started) * 1000
        if written.problem:
            raise RuntimeError(f"{self.kind}: store write failed: {written.problem}")
        if saved_session(self.store, key).load().get("chat_history") != conv:
            raise RuntimeError(f"{self.kind}: the conversation read back is not the one written")
        self.saved_bytes = len(CODEC.dumps(conv))
        await timed_reload(self.full, MESSAGES)  # warm-up: the first restore of this session
        await self.verify(self.full, MESSAGES, "warm-up")
        await timed_reload(self.empty, 0)

    async def verify(self, page, expected: int, label: str) -> None:
        state = await page.evaluate(PAGE_STATE_JS)
        marks = page_marks(state["texts"])
        if marks != list(range(1, expected + 1)):
            self.failures.append(f"reload/{self.kind}/{label}: messages on screen {marks[:8]}… "
                                 f"({len(marks)}), expected 1..{expected}")
        if state["exceptions"]:
            self.failures.append(f"reload/{self.kind}/{label}: {state['exceptions']} stException")

    async def round(self, i: int) -> None:
        pid = self.app.process.process.pid
        cpu = cpu_seconds(pid)
        self.rows_full.append(await timed_reload(self.full, MESSAGES))
        await asyncio.sleep(0.2)  # the run's last writes (the cookie script, the save)
        self.rows_full[-1]["app_cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000
        await self.verify(self.full, MESSAGES, f"reload {i + 1}")
        cpu = cpu_seconds(pid)
        self.rows_empty.append(await timed_reload(self.empty, 0))
        await asyncio.sleep(0.2)
        self.rows_empty[-1]["app_cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000
        await self.verify(self.empty, 0, f"empty reload {i + 1}")
        print(f"  {self.kind:6s} reload {i + 1}: 50 messages {self.rows_full[-1]['restored_s']:.3f} s "
              f"(run over {self.rows_full[-1]['ready_s']:.3f} s), empty session: run over "
              f"{self.rows_empty[-1]['ready_s']:.3f} s; loadavg {loadavg()}", flush=True)

    async def close(self) -> None:
        for context in (getattr(self, "full_ctx", None), getattr(self, "empty_ctx", None)):
            if context is not None:
                await context.close()

    def result(self) -> dict:
        col = lambda rows, name: [r[name] for r in rows]  # noqa: E731
        full, empty = self.rows_full, self.rows_empty
        return {"store": self.store.description.split(" ")[0], "saved_json_bytes": self.saved_bytes,
                "bench_write_ms": round(self.write_ms, 2),
                "restored_s": summary(col(full, "restored_s")),
                "restored_from_call_s": summary(col(full, "from_call_s")),
                "heading_s": summary(col(full, "heading_s")),
                "ready_s": summary(col(full, "ready_s")),
                "empty_heading_s": summary(col(empty, "heading_s")),
                "empty_ready_s": summary(col(empty, "ready_s")),
                "empty_ready_from_call_s": summary(col(empty, "from_call_s")),
                "app_cpu_ms_per_reload": summary(col(full, "app_cpu_ms"), 0),
                "empty_app_cpu_ms_per_reload": summary(col(empty, "app_cpu_ms"), 0)}


async def part_reload(browser, subjects: list[ReloadSubject], reloads: int, failures: list) -> dict:
    """Both stores' apps side by side, their reloads interleaved, so that both see the same
    machine load (it is shared)."""
    conv = conversation()
    try:
        for subject in subjects:
            await subject.prepare(browser, conv, failures)
        for i in range(reloads):
            for subject in (subjects if i % 2 == 0 else subjects[::-1]):
                await subject.round(i)
    finally:
        for subject in subjects:
            await subject.close()
    return {subject.kind: subject.result() for subject in subjects}


# --- part 2: streaming with and without the store ------------------------------------------

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


def realistic_state(settings: dict, conv: list[dict]) -> dict:
    """A chat page's session state after a turn: the settings the app saved in part 2 (or
    a typical set), the conversation, and keys the app keeps but never saves."""
    state = dict(settings) or {
        "lab_provider": "openai", "lab_model_openai": "paced", "lab_max_tokens_openai": 2000,
        "lab_temperature": 0.7, "lab_top_p": 1.0, "lab_seed": None, "lab_stop": "",
        "lab_presence_penalty": 0.0, "lab_frequency_penalty": 0.0, "lab_projector": False,
        "chat_system_preset": "Travel planner", "chat_system": "You are a travel planner.",
        "chat_streaming": True, "chat_view": "💬 Chat", "chat_context_strategy": "Keep everything"}
    state.pop("chat_history", None)
    state.update({"chat_history": conv, "lab_session_key": "0" * 64, "lab_saved_session": object(),
                  "lab_cookie_script": "<script>…</script>", "chat_stop": False,
                  "chat_edit_pick": 48, "chat_import": None, "lab_key_input_openai": "sk-secret"})
    return state


def save_cost(store, saves: int, settings: dict) -> dict:
    """In this process: SavedSession.save after a turn (the conversation grew by two
    messages, the rest as it was), a save with nothing changed, and a load."""
    key = session_key(secrets.token_urlsafe(16))
    base = conversation(seed=99)
    saved = saved_session(store, key, new_browser=True)
    state = realistic_state(settings, base)
    saved.save(state)  # the first save writes every setting; after that only what changes
    turn, unchanged, loads, encode = [], [], [], []
    for i in range(saves):
        conv = [dict(m) for m in base[:-2]]
        conv += [{"role": "user", "content": f"(msg-49) variant {i}: " + base[-2]["content"]},
                 dict(base[-1], content=f"(msg-50) variant {i}: " + base[-1]["content"])]
        state["chat_history"] = conv
        started = time.perf_counter()
        saved.save(state)
        turn.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        saved.save(state)  # a rerun that changed nothing: encoded and compared, not written
        unchanged.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        CODEC.dumps(conv)
        encode.append((time.perf_counter() - started) * 1000)
        if i % 10 == 0:
            started = time.perf_counter()
            restored = saved_session(store, key).load()
            loads.append((time.perf_counter() - started) * 1000)
            if restored.get("chat_history") != conv:
                raise RuntimeError("a save did not land")
    conv_bytes = len(CODEC.dumps(state["chat_history"]))
    no_request = len(CODEC.dumps([{k: v for k, v in m.items() if k != "request"}
                                  for m in state["chat_history"]]))
    # The same rerun with nothing changed, for a 500-message conversation (a long lab).
    state["chat_history"] = conversation(seed=7, messages=500)
    saved.save(state)
    big = []
    for _ in range(20):
        started = time.perf_counter()
        saved.save(state)
        big.append((time.perf_counter() - started) * 1000)
    if saved.problem:
        raise RuntimeError(saved.problem)
    row = lambda v: {"median_ms": round(statistics.median(v), 3), "p95_ms": round(pct(v, 95), 3)}  # noqa: E731
    return {"turn_save": row(turn), "unchanged_save": row(unchanged), "load": row(loads),
            "encode_conversation": row(encode), "saves": saves,
            "saved_names": len(saved._written),  # noqa: SLF001 - what a turn's state holds
            "conversation_json_bytes": conv_bytes, "without_last_request_bytes": no_request,
            "unchanged_save_500_messages": row(big),
            "conversation_500_json_bytes": len(CODEC.dumps(state["chat_history"]))}


# --- part 3: a class at once ---------------------------------------------------------------

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
    its monotonic clock, s), before the renderer draws anything: classroom_load's clock (the
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


async def part_class(browser, workdir: Path, n: int, failures: list, deadline_at: float,
                     browser_nice: int) -> dict:
    db_path = workdir / "class-sessions.sqlite3"
    result: dict = {"sessions": n}
    with TimedFaultServer(history=2000) as fault:
        app = App("class", workdir, {**GC_ENV, "OPENAI_BASE_URL": fault.base_url,
                                     "OPENAI_API_KEY": f"sk-bench-{secrets.token_hex(8)}",
                                     "LAB_STORE_URL": f"sqlite:///{db_path}"})
        result["app_start_s"] = app.start_s
        contexts: list = []
        watch = None
        store = SQLiteStore(db_path)
        try:
            # One session alone first, all through the UI: it picks model "ok" (which the app
            # saves), asks, and reloads. The process warms up, and it is the baseline.
            t0 = time.monotonic()
            alone = await new_context(browser, animations=False)
            contexts.append(alone)
            page = await alone.new_page()
            await open_chat(page, app.url)
            await pick_model(page, "ok")
            alone_key = await browser_key(alone)
            alone_prompt = f"session-99-{secrets.token_hex(3)}: tell me one fact about clouds."
            await page.locator(CHAT_INPUT).fill(alone_prompt)
            await page.evaluate(TURN_WATCH)
            await page.locator(CHAT_INPUT).press("Enter")
            await asyncio.wait_for(page.evaluate("() => window.__turn.finished"), 90)
            turn = await page.evaluate("() => window.__turn")
            reload = await timed_reload(page, 2)
            texts = (await page.evaluate(PAGE_STATE_JS))["texts"]
            if len(texts) != 2 or alone_prompt not in texts[0] or OK_TEXT not in texts[1]:
                failures.append(f"class: the session alone after its reload: {texts!r:.300}")
            result["alone"] = {"answer_on_screen_s": round((turn["done"] - turn["enter"]) / 1000, 3),
                               "reload_restored_s": round(reload["restored_s"], 3),
                               "wall_s": round(time.monotonic() - t0, 1)}
            saved = saved_session(store, alone_key).load()
            settings = {k: v for k, v in saved.items() if SAVED_KEYS.find(k).setting}
            if not any(v == "ok" for k, v in settings.items() if k.startswith("lab_model_")):
                raise RuntimeError(f"the app did not save the model picked: {settings}")
            await alone.close()
            contexts.remove(alone)

            # The class: each browser gets its id (the cookie the app's script would set) and
            # those settings, written through the store API, so its first page already has
            # model "ok" (one page load each instead of a pick: the harness shares 2 cores).
            ids = [new_browser_id() for _ in range(n)]
            keys = [session_key(browser_id) for browser_id in ids]
            for key in keys:
                seeded = saved_session(store, key, new_browser=True)
                seeded.save(settings)
                if seeded.problem:
                    raise RuntimeError(f"seeding the class's settings: {seeded.problem}")
            contexts = [await new_context(browser, animations=False) for _ in range(n)]
            for context, browser_id in zip(contexts, ids):
                await context.add_cookies([{"name": COOKIE, "value": browser_id, "url": app.url}])
            pages = [await c.new_page() for c in contexts]
            for page in pages:
                page.set_default_timeout(60_000)
            tokens = [f"session-{i:02d}-{secrets.token_hex(3)}" for i in range(n)]
            prompts = [f"{tokens[i]}: tell me one fact about {TOPICS[i % len(TOPICS)]}." for i in range(n)]

            async def setup(i: int) -> None:
                from playwright.async_api import expect

                await open_chat(pages[i], app.url)
                select = pages[i].locator(f'{SIDEBAR} [data-testid="stSelectbox"]').filter(
                    has=pages[i].get_by_text("Model", exact=True))
                await expect(select.locator("input")).to_have_value("ok", timeout=30_000)
                if await browser_key(contexts[i]) != keys[i]:
                    raise RuntimeError("the page's cookie is not the browser id it was given")
                await pages[i].locator(CHAT_INPUT).fill(prompts[i])
                await pages[i].evaluate(TURN_WATCH)

            t0 = time.monotonic()
            outcomes = await gather_limited(8, [setup(i) for i in range(n)])
            live = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
            for i, o in enumerate(outcomes):
                if isinstance(o, BaseException):
                    failures.append(f"class: session {i} setup: {short(o)}")
            result["setup_s"] = round(time.monotonic() - t0, 1)
            clocks = {i: WireClock(tokens[i], OK_TEXT) for i in live}
            for i in live:
                await clocks[i].attach(pages[i])
            print(f"  alone first: {result['alone']}; {len(live)} sessions open in "
                  f"{result['setup_s']} s; loadavg {loadavg()}", flush=True)
            fault.clear()

            watch = SaveWatch(db_path, {keys[i]: prompts[i] for i in live}, app.process.process.pid)
            watch.start()
            rows: dict[int, dict] = {}
            bad: set[int] = set()

            stage = {i: "answering" for i in live}
            answers: dict[int, dict] = {}

            async def one(i: int) -> None:
                page = pages[i]
                await asyncio.wait_for(page.evaluate("() => window.__turn.finished"), 150)
                turn = answers[i] = await page.evaluate("() => window.__turn")
                stage[i] = "reloading"
                clocks[i].arm_reload()
                reload = await timed_reload(page, 2, timeout=150_000)
                stage[i] = "checking"
                state = await page.evaluate(PAGE_STATE_JS)
                problems = []
                texts = state["texts"]
                if len(texts) != 2:
                    problems.append(f"{len(texts)} messages after the reload")
                if not texts or prompts[i] not in texts[0]:
                    problems.append(f"question not its own: {texts[:1]!r:.200}")
                if len(texts) < 2 or OK_TEXT not in texts[1]:
                    problems.append(f"answer {texts[1:2]!r:.200}")
                if (seen := set(TOKEN_RE.findall(state["dom"]))) != {tokens[i]}:
                    problems.append(f"tokens in the page {sorted(seen)}")
                if state["exceptions"]:
                    problems.append(f"{state['exceptions']} stException")
                if problems:
                    failures.append(f"class: session {i}: " + "; ".join(problems))
                    bad.add(i)
                rows[i] = reload

            if browser_nice:
                # Every thread of this process's descendants outside the app's tree: the browser,
                # as main_async has stopped the other servers (the fault server's process, Redis).
                result["browser_threads_reniced"] = renice_browser(app.process.process.pid, browser_nice)
            app_cpu = cpu_seconds(app.process.process.pid)
            enter_at = time.time()
            await asyncio.gather(*(pages[i].locator(CHAT_INPUT).press("Enter") for i in live))
            tasks = {asyncio.create_task(one(i)): i for i in live}
            pending = set(tasks)
            burst_budget = max(20.0, deadline_at - time.monotonic() - 45)  # room for the checks
            while pending:  # progress every 10 s; what is still pending at the budget is reported
                wait = min(10.0, max(0.1, burst_budget - (time.time() - enter_at)))
                finished, pending = await asyncio.wait(pending, timeout=wait)
                for task in finished:
                    if task.exception() is not None:
                        failures.append(f"class: session {tasks[task]} {stage[tasks[task]]}: "
                                        f"{short(task.exception())}")
                        bad.add(tasks[task])
                for task in finished:
                    if task.exception() is None:
                        stage[tasks[task]] = "ok"
                counts = Counter(stage.values())
                print(f"  +{time.time() - enter_at:5.1f} s: {dict(counts)}, saves landed {len(watch.landed)}; "
                      f"loadavg {loadavg()}", flush=True)
                if pending and time.time() - enter_at >= burst_budget:
                    for task in pending:
                        task.cancel()
                        failures.append(f"class: session {tasks[task]} still {stage[tasks[task]]} "
                                        f"after {burst_budget:.0f} s")
                        bad.add(tasks[task])
                    await asyncio.gather(*pending, return_exceptions=True)
                    break
            deadline = time.monotonic() + 30
            while len(watch.landed) < len(live) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            watch.finish()
            result["burst_wall_s"] = round(time.time() - enter_at, 2)
            result["app_cpu_s_burst"] = round(cpu_seconds(app.process.process.pid) - app_cpu, 2)
            if watch.app_cpu_all_landed is not None:  # the 30 turns; the rest is mostly the reloads
                result["app_cpu_s_until_all_saved"] = round(watch.app_cpu_all_landed - app_cpu, 2)
            result["loadavg_after_burst"] = loadavg()
            if len(watch.landed) != len(live):
                failures.append(f"class: {len(watch.landed)} of {len(live)} saves landed")
            if watch.errors:
                failures.append(f"class: save watch: {watch.errors[:3]}")

            # The store through its own API: each browser holds its own conversation, and no
            # saved value of any browser carries another's token.
            for i in live:
                saved = saved_session(store, keys[i]).load()
                history = saved.get("chat_history")
                if [m.get("content") for m in history or []] != [prompts[i], OK_TEXT]:
                    failures.append(f"class: session {i}: saved {history!r:.200}")
                    bad.add(i)
                found = set(TOKEN_RE.findall(" ".join(CODEC.dumps(SAVED_KEYS.find(k).save(v))
                                                 for k, v in saved.items())))
                if found - {tokens[i]}:
                    failures.append(f"class: session {i}: other tokens saved {sorted(found)}")
                    bad.add(i)

            posts = [r for r in fault.requests
                     if r.method == "POST" and r.path.rstrip("/") == "/v1/chat/completions"]
            per_request = [TOKEN_RE.findall(json.dumps((r.body or {}).get("messages"))) for r in posts]
            counts = Counter(t for found in per_request for t in found)
            result["server_chat_requests"] = len(posts)
            if len(posts) != len(live) or any(len(f) != 1 for f in per_request) \
                    or set(counts) != {tokens[i] for i in live} or any(c != 1 for c in counts.values()):
                failures.append(f"class: the server got {len(posts)} requests, tokens {dict(counts)}")

            enters = [answers[i]["enter"] for i in answers if answers[i]["enter"]]
            landed = [watch.landed[keys[i]] - enter_at for i in live if keys[i] in watch.landed]
            lag = [watch.landed[keys[i]] - answers[i]["done"] / 1000 for i in answers
                   if keys[i] in watch.landed]
            result.update(
                ok_sessions=len(set(live) - bad),
                send_spread_s=round((max(enters) - min(enters)) / 1000, 3) if enters else None,
                answer_on_screen_s=summary([(answers[i]["done"] - enter_at * 1000) / 1000 for i in answers]),
                saves_landed_s=summary(landed),
                all_saves_landed_s=round(max(landed), 3) if landed else None,
                request_at_server_s=summary([fault.arrivals[tokens[i]] - enter_at for i in live
                                             if tokens[i] in fault.arrivals]),
                save_landed_minus_answer_on_screen_s=summary(lag),
                reload_restored_s=summary([rows[i]["restored_s"] for i in rows]),
                reload_restored_from_call_s=summary([rows[i]["from_call_s"] for i in rows]),
                answer_on_the_wire_s=summary([clocks[i].figures()[0] for i in live]),
                reload_restored_on_the_wire_s=summary([clocks[i].figures()[1] for i in live]),
            )
        finally:
            if watch:
                watch.finish()
            for context in contexts:
                try:
                    await context.close()
                except Exception:  # noqa: BLE001
                    pass
            store.close()
            app.close()
            count, first = app.tracebacks()
            result["log_tracebacks"] = count
            if count:
                failures.append(f"class: {count} Traceback(s) in the app log; first: {first}")
    return result


# --- the run -------------------------------------------------------------------------------

def print_summary(label: str, s: dict, unit: str = "s") -> None:
    print(f"  {label:34s} p50 {s['p50']} {unit}  p90 {s['p90']}  p95 {s['p95']}  max {s['max']}  (n={s['n']})")


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    started = time.monotonic()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    workdir = Path(tempfile.mkdtemp(prefix="classroom_mode-"))
    failures: list[str] = []
    results: dict = {"loadavg": {"start": loadavg()}, "cpus": len(os.sched_getaffinity(0)),
                     "post_script_gc": not GC_ENV}
    print(f"load average at start {results['loadavg']['start']} on {results['cpus']} CPUs", flush=True)
    fault_proc, fault_url = new_fault_process()
    env = {"OPENAI_BASE_URL": fault_url, "OPENAI_API_KEY": "sk-bench-classroom-mode", **GC_ENV}
    apps: list[App] = []
    redis_proc = None

    def stop_servers() -> None:
        """Redis and the fault server's process, which only parts 1 and 2 use (again: a no-op)."""
        if redis_proc is not None:
            redis_proc.stop()
        fault_proc.terminate()
        fault_proc.wait(timeout=10)
        RUNNING[:] = [p for p in RUNNING if p not in (redis_proc, fault_proc)]

    walls: dict[str, float] = {}
    results["part_wall_s"] = walls
    current: list = [None, time.monotonic()]

    def mark(part: str | None) -> None:
        """Start timing `part` (None: the end); the load average as each part starts."""
        if current[0] is not None:
            walls[current[0]] = round(time.monotonic() - current[1], 1)
        current[:] = [part, time.monotonic()]
        if part is not None:
            results["loadavg"][f"part_{part}"] = loadavg()

    def left() -> float:
        return args.deadline - (time.monotonic() - started)

    async def bounded(name: str, coro, budget: float):
        timeout = min(budget, left() - 15)
        if timeout < 20:
            coro.close()
            failures.append(f"{name}: skipped, {left():.0f} s left before the deadline")
            return None
        try:
            return await asyncio.wait_for(coro, timeout=timeout)
        except asyncio.TimeoutError:
            failures.append(f"{name}: over its {timeout:.0f} s budget")
        except Exception as exc:  # noqa: BLE001 - reported, the next part still runs
            failures.append(f"{name}: {short(exc)}")
        return None

    sqlite_path = workdir / "sessions.sqlite3"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                       args=CHROMIUM_ARGS)
            try:
                sqlite_app = App("sqlite", workdir, {**env, "LAB_STORE_URL": f"sqlite:///{sqlite_path}"})
                apps.append(sqlite_app)
                sqlite_store = SQLiteStore(sqlite_path)
                if "1" in parts:
                    mark("1")
                    print("\n== 1. reload -> 50 messages restored ==", flush=True)
                    redis_dir = workdir / "redis"
                    redis_dir.mkdir()
                    redis_proc, redis_url = start_redis(redis_dir)
                    RUNNING.append(redis_proc)
                    redis_app = App("redis", workdir, {**env, "LAB_STORE_URL": redis_url})
                    apps.append(redis_app)
                    subjects = [ReloadSubject("sqlite", sqlite_app, sqlite_store),
                                ReloadSubject("redis", redis_app, RedisStore(redis_url))]
                    results["reload"] = await bounded("reload", part_reload(
                        browser, subjects, args.reloads, failures), 60 + 25 * args.reloads) or {}
                    results["reload"]["loadavg"] = loadavg()
                    redis_app.close()
                    for kind in ("sqlite", "redis"):
                        if kind not in results["reload"]:
                            continue
                        r = results["reload"][kind]
                        print(f" {kind} ({r['saved_json_bytes']:,} bytes of conversation JSON), "
                              f"from the reload's navigation start:")
                        print_summary("50 messages: lesson heading drawn", r["heading_s"])
                        print_summary("50 messages: all 50 drawn", r["restored_s"])
                        print_summary("  (from the page.reload() call)", r["restored_from_call_s"])
                        print_summary("50 messages: run over", r["ready_s"])
                        print_summary("empty: lesson heading drawn", r["empty_heading_s"])
                        print_summary("empty: run over", r["empty_ready_s"])
                        print_summary("app CPU per reload, 50 messages", r["app_cpu_ms_per_reload"], "ms")
                        print_summary("app CPU per reload, empty", r["empty_app_cpu_ms_per_reload"], "ms")
                    print(f"  loadavg {results['reload']['loadavg']}")

                settings: dict = {}
                if "2" in parts:
                    mark("2")
                    print(f"\n== 2. streaming {TOKENS} tokens at {PACE:.0f} tok/s after "
                          f"{MESSAGES} messages: store on (SQLite) vs off ==", flush=True)
                    off_app = App("off", workdir, {**env, "LAB_STORE_URL": "off"})
                    apps.append(off_app)
                    uploads = [workdir / "conversation-a.json", workdir / "conversation-b.json"]
                    for seed, upload in enumerate(uploads, 5):  # two files: each import is a change
                        upload.write_text(json.dumps([{"role": m["role"], "content": m["content"]}
                                                      for m in conversation(seed=seed)]))
                    rows: dict[str, list] = {"on": [], "off": []}
                    streamers = {"on": Streamer("on", sqlite_app, sqlite_path, sqlite_store),
                                 "off": Streamer("off", off_app, None, None)}

                    async def rounds():
                        try:
                            for streamer in streamers.values():
                                await streamer.open(browser)
                            for i in range(args.rounds):
                                order = ("on", "off") if i % 2 == 0 else ("off", "on")
                                for label in order:
                                    row = await streamers[label].round(uploads[i % 2], failures,
                                                                       f"{label} {i + 1}")
                                    if "saved" in row:
                                        settings.update(row.pop("saved"))
                                    rows[label].append(row)
                                    after = row.get("save_after_last_token_ms")
                                    extra = (f", store commits in the turn {row['commits']} (before the answer"
                                             f" was complete {row['commits_before_answer_complete']}), save "
                                             f"{after if after is None else round(after)} ms after the last"
                                             " token on screen" if label == "on" else "")
                                    print(f"  round {i + 1} store {label:3s}: {row['tok_s']:.1f} tok/s in the page, "
                                          f"Enter -> last token {row['enter_to_last_s']:.2f} s{extra}; "
                                          f"loadavg {loadavg()}", flush=True)
                        finally:
                            for streamer in streamers.values():
                                await streamer.close()
                    await bounded("stream", rounds(), 60 + 40 * args.rounds)
                    off_app.close()
                    if rows["on"] and rows["off"]:
                        on = statistics.median(r["tok_s"] for r in rows["on"])
                        off = statistics.median(r["tok_s"] for r in rows["off"])
                        results["stream"] = {
                            "tok_s_on": round(on, 1), "tok_s_off": round(off, 1),
                            "ratio": round(on / off, 3),
                            "enter_to_last_s_on": summary([r["enter_to_last_s"] for r in rows["on"]]),
                            "enter_to_last_s_off": summary([r["enter_to_last_s"] for r in rows["off"]]),
                            "tok_s_all": {k: [round(r["tok_s"], 1) for r in v] for k, v in rows.items()},
                            "commits_in_the_turn": [r["commits"] for r in rows["on"]],
                            "commits_before_answer_complete": [r["commits_before_answer_complete"]
                                                               for r in rows["on"]],
                            "save_after_last_token_ms": summary(
                                [r["save_after_last_token_ms"] for r in rows["on"]], 1),
                            "loadavg": loadavg()}
                        s = results["stream"]
                        if s["ratio"] < 0.95:
                            failures.append(f"stream: with the store {s['ratio']} x the tok/s without (goal >= 0.95)")
                        print(f"  tok/s in the page: store on {s['tok_s_on']}, off {s['tok_s_off']}: "
                              f"ratio {s['ratio']} (goal >= 0.95)")

                    mark("2b")
                    print(f"\n== 2b. one save in this process ({args.saves} turns, {MESSAGES} messages) ==",
                          flush=True)
                    results["save"] = {"sqlite": save_cost(SQLiteStore(workdir / "save-cost.sqlite3"),
                                                           args.saves, settings)}
                    if redis_proc is None:
                        redis_dir = workdir / "redis"
                        redis_dir.mkdir(exist_ok=True)
                        redis_proc, redis_url = start_redis(redis_dir)
                        RUNNING.append(redis_proc)
                    results["save"]["redis"] = save_cost(RedisStore(redis_url), args.saves, settings)
                    results["save"]["settings_from_the_app"] = bool(settings)
                    for kind in ("sqlite", "redis"):
                        r = results["save"][kind]
                        print(f"  {kind}: after a turn {r['turn_save']}, nothing changed {r['unchanged_save']}, "
                              f"load {r['load']}; encoding the conversation alone {r['encode_conversation']} "
                              f"({r['conversation_json_bytes']:,} bytes, {r['without_last_request_bytes']:,} "
                              f"without the last answer's `request`; {r['saved_names']} saved names); "
                              f"nothing changed, 500 messages ({r['conversation_500_json_bytes']:,} bytes): "
                              f"{r['unchanged_save_500_messages']}")
                sqlite_app.close()
                sqlite_store.close()
                stop_servers()  # part 3's app is then the only server: renice_browser spares it alone

                if "3" in parts:
                    mark("3")
                    print(f"\n== 3. {args.sessions} sessions send at once, then reload (one app, SQLite) ==",
                          flush=True)
                    budget = left() - 15
                    r = await bounded("class", part_class(browser, workdir, args.sessions, failures,
                                                          time.monotonic() + budget - 20, args.browser_nice),
                                      budget)
                    if r:
                        results["class"] = r
                        print(f"  answers on screen (from the common Enter):")
                        print_summary("", r["answer_on_screen_s"])
                        print_summary("saves landed (from Enter)", r["saves_landed_s"])
                        print_summary("request at the fault server", r["request_at_server_s"])
                        print_summary("save landed - answer on screen", r["save_landed_minus_answer_on_screen_s"])
                        print_summary("answer on the wire (CDP)", r["answer_on_the_wire_s"])
                        print_summary("reload -> restored (2 msgs)", r["reload_restored_s"])
                        print_summary("reload -> restored on the wire", r["reload_restored_on_the_wire_s"])
                        print(f"  all saves landed {r['all_saves_landed_s']} s after the common Enter; "
                              f"send spread {r['send_spread_s']} s; ok sessions {r['ok_sessions']}/{r['sessions']}; "
                              f"server requests {r['server_chat_requests']}; tracebacks {r['log_tracebacks']}; "
                              f"app CPU {r['app_cpu_s_burst']} s in the {r['burst_wall_s']} s burst "
                              f"({r.get('app_cpu_s_until_all_saved')} s of it until all saves landed); "
                              f"loadavg after {r['loadavg_after_burst']}")
            finally:
                await browser.close()
    finally:
        for app in apps:
            app.close()
            count, first = app.tracebacks()
            if count:
                failures.append(f"app {app.name}: {count} Traceback(s) in its log; first: {first}")
        stop_servers()
    mark(None)
    results["loadavg"]["end"] = loadavg()
    results.update(failures=failures, ok=not failures, wall_s=round(time.monotonic() - started, 1))
    if failures or args.keep:
        results["workdir"] = str(workdir)
        print(f"\nlogs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def compact(results: dict) -> dict:
    """The JSON line: without the per-reload lists ("all", at any depth; classroom_load's
    compact keeps its per-session lists and drops only the RSS marks, which this has none of)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "all"}
        return value
    return strip(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3")
    parser.add_argument("--reloads", type=int, default=7, help="timed reloads per store (>= 5)")
    parser.add_argument("--rounds", type=int, default=4, help="streaming rounds, store on and off each")
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--saves", type=int, default=200, help="in-process saves per store")
    parser.add_argument("--deadline", type=float, default=570.0, help="hard stop, seconds")
    parser.add_argument("--browser-nice", type=int, default=19,
                        help="part 3: niceness of Chromium during the burst (0: same priority as the app)")
    parser.add_argument("--no-post-script-gc", action="store_true",
                        help="run the apps with runner.postScriptGC off (Streamlit's full gc.collect "
                             "after every script run), to see what it costs")
    parser.add_argument("--keep", action="store_true", help="keep the apps' logs and stores")
    args = parser.parse_args()
    if args.no_post_script_gc:
        GC_ENV["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "false"
    if args.sessions > 99:
        raise SystemExit("at most 99 sessions (two-digit tokens)")

    def watchdog() -> None:  # last resort: stop every server this run started, then exit
        for process in list(RUNNING):
            try:
                pid = process.pid if isinstance(process, subprocess.Popen) else process.process.pid
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        print(json.dumps({"ok": False, "error": f"watchdog: over {args.deadline + 30:.0f} s",
                          "loadavg": loadavg()}), flush=True)
        os._exit(3)
    timer = threading.Timer(args.deadline + 30, watchdog)
    timer.daemon = True
    timer.start()
    results = asyncio.run(main_async(args))
    timer.cancel()
    print(f"\nok {results['ok']}; failures {len(results['failures'])}; wall {results['wall_s']} s "
          f"(parts {results['part_wall_s']}); load average (1, 5, 15 min) {results['loadavg']}")
    for failure in results["failures"][:20]:
        print(f"  - {failure}")
    print(json.dumps(compact(results)))


if __name__ == "__main__":
    main()
