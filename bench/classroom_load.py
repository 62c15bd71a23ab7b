"""A class at once on one app process (issue 8): N browser sessions ask together.

Phase "a": 30 sessions (one Chromium, one browser context each) on ONE `streamlit run` of the
app, with OPENAI_BASE_URL at the tests' fault server (run in this process, so every request it
receives is recorded) and a throwaway OPENAI_API_KEY. Each session picks model "slow" (10
words, --slow-delay s apart: a lone answer needs 1 delay to its first word, 10 to its end) or
"long" (--a-max-tokens " tok" pieces, fast) in the sidebar; then all press Enter together,
each with its own question carrying a unique token ("session-17-3fa9c2").
Phase "b": 10 sessions on the built-in model (no keys), max_tokens --b-max-tokens; with the
engine's 4 slots the other 6 queue. Phase "b-f16": the same with LAB_LOCAL_KV_CACHE=f16 (a
fresh app, so a fresh engine), run only if the deadline leaves room.
Before each burst one session asks alone ("alone": the single-user baseline; it is also the
process's first request, which pays one-time costs).

Per session, times from the (trusted) Enter keydown in the chat input:
- ttft_s / total_s: on screen, from a MutationObserver in the page: first characters of the
  assistant's answer / the metrics row ("Finish reason"). echo_s: the question shown back.
- wire_ttft_s / wire_total_s: the same two events as websocket frames reaching Chromium's
  network stack (CDP; from the frame that sent the question), before the renderer draws.
- to_server_s (phase a): Enter -> the request at the fault server. app_ttft_s: the app's own
  TTFT (request -> first delta, from its metrics row).
The browsers share the 2 cores with the app (a class brings its own laptops), so the on-screen
times include the renderers' backlog; burst_cpu says who used the CPU (app incl. engine,
browser = Chromium + Playwright driver, bench = this process incl. the fault server, others =
the rest of the machine). To bring the harness closer to a class on its own laptops, CSS
animations are off in the pages (--animations keeps them) and Chromium runs at nice 19 during
the burst (--browser-nice 0: same priority as the app).
Correctness per session: messages are exactly [user, assistant]; the user message is its own
question; the answer is complete (a: exactly the scripted text / --a-max-tokens pieces; b: a
finish reason, no error, completion tokens <= max_tokens); the page's DOM holds no session
token but its own; the Inspector's raw request carries its own token and no other; no
stException, no alert. Phase a also: the fault server got exactly N chat POSTs, each with
exactly one token, each token once, all for the picked model. The app's log: no Traceback.
Memory: VmRSS of the app and of its engine child (`lib.models.engine_host`) every 0.2 s, and
VmHWM at the end; peak_sum (app + engine sampled together) is the Community Cloud figure
(goal < 1 GB; Cloud gives 690 MB-2.7 GB).

Only 127.0.0.1 is contacted. Bounded: each phase has a budget, and a watchdog kills the apps
and exits at --deadline + 30 s (default 450 s).

Usage: .venv/bin/python bench/classroom_load.py [--phases a,b,b-f16] [--sessions-a 30]
       [--sessions-b 10] [--slow-delay 0.2] [--a-model slow|long] [--b-max-tokens 64] [--keep]
Last line JSON: {"a": {...}, "b": {...}, "b_f16": {...}, "ok": bool, "wall_s", "loadavg"};
per phase: "ttft_s", "total_s", "wire_ttft_s" (a), "wire_total_s", "app_ttft_s", "echo_s",
"to_server_s" (a), each {p50, p95, max, n, all}; "alone", "burst_cpu", "rss_mb", "failures".
p95 is nearest-rank (with 10 sessions it is the slowest one).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.fault_server import SLOW_PIECES, FaultServer  # noqa: E402
from tests.servers.process_tree import (descendants, engine_children, proc_status,  # noqa: E402
                                        process_parents)
from tests.servers.streamlit_app import APP_READY, EXCEPTION, start_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
SIDEBAR = '[data-testid="stSidebar"]'
SLOW_TEXT = "".join(SLOW_PIECES)
TOKEN_RE = re.compile(r"session-\d{2}-[0-9a-f]{6}")
# A frame carrying the answer's first words (and not the page's "Streaming chat" title, nor
# "max_tokens"): the fault server's pieces, only them (and write_stream's trailing space), at the
# end of a protobuf string.
SLOW_FRAME = re.compile(re.escape(SLOW_PIECES[0].encode()) + b"(?:"
                        + b"|".join(re.escape(p.encode()) for p in SLOW_PIECES[1:]) + rb")* ?(?![ A-Za-z_])")
LONG_FRAME = re.compile(rb"(?<![A-Za-z_])tok(?: tok)* ?(?![ A-Za-z_])")
FINISHED = re.compile(r"Finish reason\s+(stop|length)")
APP_TTFT = re.compile(r"Time to first token\s+([0-9,]+) ms")
COMPLETION = re.compile(r"Completion tokens(?: \(est\.\))?\s+(\d+)")
RUNNING_APPS: list = []  # ServerProcess objects the watchdog must not leave behind
TOPICS = ["apples", "the moon", "trains", "violins", "volcanoes", "penguins", "bridges", "tea",
          "glaciers", "bicycles", "owls", "deserts", "chess", "bees", "lighthouses", "maps",
          "rivers", "clocks", "whales", "kites", "salt", "comets", "forests", "bread", "rain",
          "castles", "cats", "paper", "islands", "music"]

# The harness's browsers share the server's 2 cores, unlike a class's laptops: without this,
# 30 pages repaint "Running…" spinners at 60 fps and Chromium takes most of the CPU.
NO_ANIMATIONS_JS = """addEventListener("DOMContentLoaded", () => {
  const style = document.createElement("style");
  style.textContent = "*, *::before, *::after { animation: none !important; transition: none !important; }";
  document.head.appendChild(style);
});"""

# Installed in each page before Enter: wall-clock times (ms) of the trusted Enter keydown in
# the chat input, of the first visible answer characters, and of the metrics row.
# Markdown that is not the answer: the Stop button's label, the metrics row, captions.
SKIP_JS = 'const SKIP = \'button, [data-testid="stMetric"], [data-testid="stCaptionContainer"]\';'
OBSERVER_JS = """() => {
  """ + SKIP_JS + """
  const now = () => performance.timeOrigin + performance.now();
  const b = window.__bench = {enter: null, echo: null, first: null, last: null, done: null,
                              firstText: "", lastText: ""};
  document.addEventListener("keydown", e => {
    if (e.key === "Enter" && b.enter === null && e.target.matches('[data-testid="stChatInputTextArea"]'))
      b.enter = now();
  }, true);
  const answerText = m => [...m.querySelectorAll('[data-testid="stMarkdownContainer"]')]
      .filter(el => !el.closest(SKIP)).map(el => el.textContent).join("").trim();
  const check = () => {
    if (b.enter === null) return;
    const msgs = [...document.querySelectorAll('[data-testid="stChatMessage"]')];
    if (b.echo === null && msgs.some(m => m.querySelector('[data-testid="stChatMessageAvatarUser"]')))
      b.echo = now();
    const a = msgs.find(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'));
    if (!a) return;
    if (b.done === null) {
      const text = answerText(a);
      if (text.length && text !== b.lastText) {
        b.last = now(); b.lastText = text;
        if (b.first === null) { b.first = b.last; b.firstText = text.slice(0, 80); }
      }
    }
    if (b.first !== null && b.done === null && a.textContent.includes("Finish reason")) {
      b.done = now(); observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""

STATE_JS = """() => {
  """ + SKIP_JS + """
  const msgs = [...document.querySelectorAll('[data-testid="stChatMessage"]')];
  const role = m => m.querySelector('[data-testid="stChatMessageAvatarUser"]') ? "user" :
      m.querySelector('[data-testid="stChatMessageAvatarAssistant"]') ? "assistant" : "?";
  const answerText = m => [...m.querySelectorAll('[data-testid="stMarkdownContainer"]')]
      .filter(el => !el.closest(SKIP)).map(el => el.innerText).join("\\n");
  return {
    roles: msgs.map(role),
    texts: msgs.map(m => m.innerText),
    answers: msgs.map(answerText),
    alerts: msgs.map(m => m.querySelectorAll('[data-testid="stAlert"]').length),
    exceptions: document.querySelectorAll('[data-testid="stException"]').length,
    dom: document.body.textContent,
  };
}"""


class TimedFaultServer(FaultServer):
    """The fault server, also noting when each session's chat request arrived (epoch s)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.arrivals: dict[str, float] = {}

    def record(self, request) -> None:
        if request.method == "POST" and isinstance(request.body, dict):
            for token in TOKEN_RE.findall(json.dumps(request.body.get("messages"))):
                self.arrivals.setdefault(token, time.time())
        super().record(request)


# --- memory --------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def engine_child(app_pid: int) -> int | None:
    return next(iter(engine_children(app_pid)), None)


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def renice_browser(app_pid: int, niceness: int) -> int:
    """Lower the priority of every thread of the harness's browser (Chromium and the
    Playwright driver: this process's descendants outside the app's tree), so that the app
    gets the CPU first, as it would if the class's browsers ran on their own laptops.
    Niceness is per thread on Linux; threads started later inherit it. Returns threads set."""
    parents = process_parents()
    browser = descendants(os.getpid(), parents) - descendants(app_pid, parents) - {os.getpid()}
    count = 0
    for pid in browser:
        try:
            tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        except OSError:
            continue
        for tid in tids:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
                count += 1
            except OSError:
                pass
    return count


class CpuAccount:
    """CPU seconds over an interval: the app (and its engine), the browser (Chromium and the
    Playwright driver), this process (fault server, client), and everything else on the machine."""

    def __init__(self, app_pid: int) -> None:
        self.app_pid = app_pid
        self.start = self._snapshot()
        self.t0 = time.monotonic()

    def _snapshot(self) -> tuple[dict[int, float], tuple[float, float]]:
        parents = process_parents()
        pids = descendants(os.getpid(), parents)
        return {pid: cpu_seconds(pid) for pid in pids}, machine_busy_s()

    def finish(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        (before, busy0), (after, busy1) = self.start, self._snapshot()
        app_tree = descendants(self.app_pid, process_parents()) | {self.app_pid}
        delta = {pid: cpu - before.get(pid, 0.0) for pid, cpu in after.items() if cpu == cpu}
        app = sum(v for pid, v in delta.items() if pid in app_tree)
        me = delta.get(os.getpid(), 0.0)
        browser = sum(v for pid, v in delta.items() if pid not in app_tree and pid != os.getpid())
        busy = busy1[0] - busy0[0]
        return {"wall_s": round(wall, 2), "machine_busy_s": round(busy, 1),
                "machine_util": round(busy / max(busy1[1] - busy0[1], 1e-9), 2),
                "app_s": round(app, 1), "browser_s": round(browser, 1), "bench_s": round(me, 1),
                "others_s": round(busy - app - browser - me, 1)}


class RssSampler(threading.Thread):
    """VmRSS of the app and of its engine child every `interval` s; peaks and the peak sum."""

    def __init__(self, app_pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.app_pid, self.interval = app_pid, interval
        self.engine_pid: int | None = None
        self.peak = {"app": 0, "engine": 0, "sum": 0, "app_anon": 0, "engine_anon": 0}
        self.marks: dict[str, dict[str, float]] = {}
        self._halt = threading.Event()

    def sample(self) -> dict[str, int]:
        if self.engine_pid is None:
            self.engine_pid = engine_child(self.app_pid)
        app = proc_status(self.app_pid)
        engine = proc_status(self.engine_pid) if self.engine_pid else {}
        now = {"app": app.get("VmRSS", 0), "engine": engine.get("VmRSS", 0),
               "app_anon": app.get("RssAnon", 0), "engine_anon": engine.get("RssAnon", 0)}
        now["sum"] = now["app"] + now["engine"]
        for key, value in now.items():
            self.peak[key] = max(self.peak[key], value)
        return now

    def mark(self, name: str) -> None:
        self.marks[name] = {k: round(v / 1024, 1) for k, v in self.sample().items()}

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def finish(self) -> dict:
        self._halt.set()
        self.join(timeout=2)
        self.sample()
        app, engine = proc_status(self.app_pid), proc_status(self.engine_pid) if self.engine_pid else {}
        mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
        report = {f"peak_{k}": mb(v) for k, v in self.peak.items()}
        report["hwm_app"] = mb(app.get("VmHWM", 0))
        if self.engine_pid:
            report["hwm_engine"] = mb(engine.get("VmHWM", 0))
            report["hwm_sum"] = round(report["hwm_app"] + report["hwm_engine"], 1)
        report["marks"] = self.marks
        return report


# --- statistics ----------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def summary(values: list[float | None]) -> dict:
    present = [v for v in values if v is not None]
    r = lambda v: None if v is None else round(v, 3)  # noqa: E731
    return {"p50": r(statistics.median(present)) if present else None, "p95": r(pct(present, 95)),
            "max": r(max(present)) if present else None, "n": len(present),
            "all": [r(v) for v in values]}


# --- driving one page ----------------------------------------------------------------------

async def wait_ready(page, timeout: float = 30_000) -> None:
    await page.locator(APP_READY).wait_for(state="attached", timeout=timeout)


async def open_chat(page, url: str) -> None:
    await page.goto(f"{url}/Streaming_Chat", timeout=90_000)
    await page.locator(CHAT_INPUT).wait_for(timeout=120_000)
    await wait_ready(page, timeout=120_000)


async def pick_model(page, model: str) -> None:
    select = page.locator(f'{SIDEBAR} [data-testid="stSelectbox"]').nth(1)
    await select.click()
    await page.get_by_role("option", name=model, exact=True).click()
    from playwright.async_api import expect
    await expect(select.locator("input")).to_have_value(model)  # a combobox: the value is an input's
    await wait_ready(page)


async def set_max_tokens(page, value: int) -> None:
    field = page.get_by_label("max_tokens", exact=True)
    if not await field.is_visible():
        await page.locator(SIDEBAR).get_by_text("Sampling").click()
    await field.fill(str(value))
    await field.press("Enter")
    await wait_ready(page)
    if await field.input_value() != str(value):
        raise RuntimeError(f"max_tokens shows {await field.input_value()!r}, not {value}")


async def inspector_text(page) -> str:
    """Open the Inspector and return its text once the request's JSON shows a session token
    (st.json draws after the rest under load), or whatever it shows after 20 s."""
    inspector = page.locator('[data-testid="stExpander"]').filter(has_text="Inspector")
    await inspector.get_by_text("Inspector: the raw request and response").click()
    await inspector.get_by_text("server-sent events").first.wait_for(timeout=20_000)
    try:
        await page.wait_for_function(
            """(pattern) => [...document.querySelectorAll('[data-testid="stExpander"]')]
                .some(e => e.innerText.includes("Inspector") && new RegExp(pattern).test(e.innerText))""",
            arg=TOKEN_RE.pattern, timeout=20_000, polling=250)
    except Exception:  # noqa: BLE001 - the caller reports what it shows
        pass
    return await inspector.inner_text()


async def gather_limited(limit: int, coroutines) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def run(coroutine):
        async with semaphore:
            return await coroutine
    return await asyncio.gather(*(run(c) for c in coroutines), return_exceptions=True)


def short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


# --- one phase -----------------------------------------------------------------------------

class WireClock:
    """The page's websocket frames as Chromium's network stack saw them (CDP, browser-side
    monotonic clock), before the renderer draws anything: when the question left (the frame
    carrying the session's token), the first frame carrying `first_marker` (an answer's
    first word) and the one carrying the metrics row. The gap to the on-screen times is the
    renderer's backlog, i.e. the harness's browsers being short of CPU, not the app."""

    def __init__(self, token: str, first_marker: re.Pattern[bytes] | None) -> None:
        self.token, self.first_marker = token.encode(), first_marker
        self.sent = self.first = self.done = None
        self.armed = False

    async def attach(self, page) -> None:
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.webSocketFrameSent", self._sent)
        cdp.on("Network.webSocketFrameReceived", self._received)
        await cdp.send("Network.enable")

    @staticmethod
    def _payload(event) -> bytes:
        response = event.get("response", {})
        data = response.get("payloadData", "")
        if response.get("opcode") == 2:
            try:
                return base64.b64decode(data)
            except ValueError:
                return b""
        return data.encode()

    def _sent(self, event) -> None:
        if self.armed and self.sent is None and self.token in self._payload(event):
            self.sent = event["timestamp"]

    def _received(self, event) -> None:
        if self.sent is None or self.done is not None:
            return
        payload = self._payload(event)
        if self.first is None and self.first_marker and self.first_marker.search(payload):
            self.first = event["timestamp"]
        if b"Finish reason" in payload:
            self.done = event["timestamp"]

    def figures(self) -> tuple[float | None, float | None]:
        ttft = self.first - self.sent if self.sent and self.first else None
        total = self.done - self.sent if self.sent and self.done else None
        return ttft, total


async def new_context(browser, animations: bool):
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        reduced_motion=None if animations else "reduce")
    if not animations:
        await context.add_init_script(NO_ANIMATIONS_JS)
    return context


async def run_phase(browser, name: str, n: int, env: dict, workdir: Path, *, model: str | None,
                    max_tokens: int | None, fault: TimedFaultServer | None, expect, keep: bool,
                    warmup: bool = True, animations: bool = False, wire: bool = True,
                    wire_marker: re.Pattern[bytes] | None = None, browser_nice: int = 0) -> dict:
    """Start the app, open n sessions, set them up, send together, check, and measure."""
    log_path = workdir / f"app-{name}.log"
    home = workdir / f"home-{name}"
    home.mkdir()
    t0 = time.monotonic()
    process, url = await asyncio.to_thread(start_app, log_path, home, env)
    RUNNING_APPS.append(process)
    app_start_s = time.monotonic() - t0
    sampler = RssSampler(process.process.pid)
    sampler.start()
    sampler.mark("idle")
    contexts, failures, setup_errors = [], [], {}
    result: dict = {"sessions": n, "app_start_s": round(app_start_s, 2)}
    try:
        contexts = [await new_context(browser, animations) for _ in range(n)]
        pages = [await c.new_page() for c in contexts]
        tokens = [f"session-{i:02d}-{secrets.token_hex(3)}" for i in range(n)]
        clocks = [WireClock(tokens[i], wire_marker) for i in range(n)] if wire else []
        for clock, page in zip(clocks, pages):
            await clock.attach(page)  # before the page opens its websocket
        for page in pages:
            page.set_default_timeout(30_000)
        prompts = [f"{tokens[i]}: tell me one fact about {TOPICS[i % len(TOPICS)]}." for i in range(n)]

        async def setup(i: int) -> None:
            await open_chat(pages[i], url)
            if model:
                await pick_model(pages[i], model)
            if max_tokens:
                await set_max_tokens(pages[i], max_tokens)
            await pages[i].locator(CHAT_INPUT).fill(prompts[i])
            await pages[i].evaluate(OBSERVER_JS)

        if warmup:  # one session alone first: the process warms up, and it is the baseline
            t0 = time.monotonic()
            context = await new_context(browser, animations)
            try:
                page = await context.new_page()
                page.set_default_timeout(30_000)
                await open_chat(page, url)
                if model:
                    await pick_model(page, model)
                if max_tokens:
                    await set_max_tokens(page, max_tokens)
                warm_token = f"session-99-{secrets.token_hex(3)}"  # not one of the burst's
                await page.locator(CHAT_INPUT).fill(f"{warm_token}: tell me one fact about clouds.")
                await page.evaluate(OBSERVER_JS)
                await page.locator(CHAT_INPUT).press("Enter")
                await page.wait_for_function("() => window.__bench.done !== null", timeout=90_000,
                                             polling=250)
                bench = await page.evaluate("() => window.__bench")
                shown = (await page.evaluate(STATE_JS))["texts"][-1]
                m = APP_TTFT.search(shown)
                result["alone"] = {"ttft_s": round((bench["first"] - bench["enter"]) / 1000, 3),
                                   "echo_s": round((bench["echo"] - bench["enter"]) / 1000, 3),
                                   "total_s": round((bench["done"] - bench["enter"]) / 1000, 3),
                                   "app_ttft_s": int(m.group(1).replace(",", "")) / 1000 if m else None,
                                   "wall_s": round(time.monotonic() - t0, 1)}
                if fault and warm_token in fault.arrivals:
                    result["alone"]["to_server_s"] = round(fault.arrivals[warm_token] - bench["enter"] / 1000, 3)
            except Exception as exc:  # noqa: BLE001 - reported
                failures.append(f"warm-up session: {short(exc)}")
            finally:
                await context.close()
            sampler.mark("after_warmup")

        t0 = time.monotonic()
        outcomes = await gather_limited(6, [setup(i) for i in range(n)])
        result["setup_s"] = round(time.monotonic() - t0, 1)
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                setup_errors[i] = short(outcome)
        live = [i for i in range(n) if i not in setup_errors]
        failures += [f"session {i}: setup failed: {e}" for i, e in setup_errors.items()]
        if browser_nice:
            result["browser_threads_reniced"] = renice_browser(process.process.pid, browser_nice)
        if fault:
            fault.clear()  # the burst's requests only (GET /models of the setup are not counted)
        sampler.mark("sessions_open")
        cpu_before = cpu_seconds(process.process.pid)
        engine_cpu_before = cpu_seconds(sampler.engine_pid) if sampler.engine_pid else float("nan")

        # --- the burst: every live session presses Enter at once
        for clock in clocks:
            clock.armed = True
        t_burst = time.monotonic()
        cpu = CpuAccount(process.process.pid)
        presses = await asyncio.gather(*(pages[i].locator(CHAT_INPUT).press("Enter") for i in live),
                                       return_exceptions=True)
        for i, outcome in zip(live, presses):
            if isinstance(outcome, BaseException):
                failures.append(f"session {i}: Enter failed: {short(outcome)}")
        done = await asyncio.gather(*(pages[i].wait_for_function(
            "() => window.__bench && window.__bench.done !== null", timeout=150_000, polling=250)
            for i in live), return_exceptions=True)
        result["burst_wall_s"] = round(time.monotonic() - t_burst, 2)
        result["burst_cpu"] = cpu.finish()
        result["app_cpu_s_burst"] = round(cpu_seconds(process.process.pid) - cpu_before, 2)
        if sampler.engine_pid:
            result["engine_cpu_s_burst"] = round(cpu_seconds(sampler.engine_pid) - engine_cpu_before, 2)
        for i, outcome in zip(live, done):
            if isinstance(outcome, BaseException):
                failures.append(f"session {i}: no finished answer: {short(outcome)}")
        await gather_limited(10, [wait_ready(pages[i], 60_000) for i in live])

        # --- timings and checks, per session
        async def check(i: int) -> dict:
            page, own = pages[i], tokens[i]
            problems = []
            bench = await page.evaluate("() => window.__bench")
            state = await page.evaluate(STATE_JS)
            enter, first, end = bench["enter"], bench["first"], bench["done"]
            since = lambda t: (t - enter) / 1000 if enter and t else None  # noqa: E731
            texts = state["texts"]
            shown = texts[1] if len(texts) > 1 else ""
            m = APP_TTFT.search(shown)
            arrived = fault.arrivals.get(own) if fault else None
            figures = {
                "enter": enter, "ttft": since(first), "total": since(end), "echo": since(bench["echo"]),
                "tail": (end - bench["last"]) / 1000 if end and bench["last"] else None,
                "app_ttft": int(m.group(1).replace(",", "")) / 1000 if m else None,
                "to_server": arrived - enter / 1000 if enter and arrived else None,
            }
            figures["wire_ttft"], figures["wire_total"] = clocks[i].figures() if clocks else (None, None)
            if enter is None:
                problems.append("no Enter keydown seen")
            if state["roles"] != ["user", "assistant"]:
                problems.append(f"messages {state['roles']}")
            if not texts or not " ".join(texts[0].split()).endswith(prompts[i]):
                problems.append(f"user message is not its own: {texts[:1]!r}")
            if state["exceptions"]:
                problems.append(f"{state['exceptions']} stException")
            if any(state["alerts"]):
                problems.append(f"alert in messages: {[t[-200:] for t in texts]!r}")
            seen = set(TOKEN_RE.findall(state["dom"]))
            if seen != {own}:
                problems.append(f"tokens in page {sorted(seen)}")
            answer = state["answers"][1] if len(state["answers"]) > 1 else ""
            problems += expect(answer, shown)
            try:
                inspector = await inspector_text(page)
                inspected = set(TOKEN_RE.findall(inspector))
                if inspected != {own}:
                    problems.append(f"tokens in inspector {sorted(inspected)}: {inspector[:300]!r}")
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                problems.append(f"inspector: {short(exc)}")
            if problems:
                failures.append(f"session {i}: " + "; ".join(problems))
                if keep:
                    await page.screenshot(path=str(workdir / f"{name}-session-{i:02d}.png"), full_page=True)
            figures["ok"] = not problems
            return figures

        checked = await gather_limited(8, [check(i) for i in live])
        for i, outcome in zip(live, checked):
            if isinstance(outcome, BaseException):
                failures.append(f"session {i}: check failed: {short(outcome)}")
        rows = [row for row in checked if isinstance(row, dict)]
        column = lambda name: [row[name] for row in rows]  # noqa: E731
        enters = [e for e in column("enter") if e]

        if fault:
            posts = [r for r in fault.requests
                     if r.method == "POST" and r.path.rstrip("/") == "/v1/chat/completions"]
            per_request = [TOKEN_RE.findall(json.dumps((r.body or {}).get("messages"))) for r in posts]
            counts = Counter(t for found in per_request for t in found)
            result["server_chat_requests"] = len(posts)
            if len(posts) != n:
                failures.append(f"fault server got {len(posts)} chat requests, expected {n}")
            if any(len(found) != 1 for found in per_request):
                failures.append(f"requests with != 1 token: {[f for f in per_request if len(f) != 1]}")
            if set(counts) != set(tokens) or any(c != 1 for c in counts.values()):
                failures.append(f"tokens at the server: {dict(counts)} vs {n} sessions")
            models = Counter((r.body or {}).get("model") for r in posts)
            if set(models) != {model}:
                failures.append(f"models at the server: {dict(models)}")

        result.update(
            ttft_s=summary(column("ttft")), total_s=summary(column("total")),
            app_ttft_s=summary(column("app_ttft")), echo_s=summary(column("echo")),
            last_text_to_metrics_s=summary(column("tail")),
            **({"wire_total_s": summary(column("wire_total"))} if clocks else {}),
            **({"wire_ttft_s": summary(column("wire_ttft"))} if clocks and wire_marker else {}),
            **({"to_server_s": summary(column("to_server"))} if fault else {}),
            send_spread_s=round((max(enters) - min(enters)) / 1000, 3) if enters else None,
            ok_sessions=sum(row["ok"] for row in rows),
        )
    finally:
        try:
            sampler.mark("end")
            result["rss_mb"] = sampler.finish()
            for context in contexts:
                try:
                    await context.close()
                except Exception:  # noqa: BLE001
                    pass
        finally:
            await asyncio.to_thread(process.stop)
            RUNNING_APPS.remove(process)
        log = log_path.read_text(errors="replace")
        tracebacks = log.count("Traceback")
        result["log_tracebacks"] = tracebacks
        if tracebacks:
            failures.append(f"{tracebacks} Traceback(s) in the app log; first: "
                            + log[log.index("Traceback"):][:600].replace("\n", " | "))
        result["failures"] = failures
    return result


def print_phase(name: str, r: dict) -> None:
    print(f"\n== {name}: {r.get('sessions')} sessions ==", flush=True)
    if "error" in r:
        print(f"  ERROR {r['error']}")
    if "alone" in r:
        print(f"  one session alone first (warm-up): {r['alone']}")
    for key in ("echo_s", "to_server_s", "ttft_s", "wire_ttft_s", "app_ttft_s", "total_s", "wire_total_s",
                "last_text_to_metrics_s"):
        if key in r:
            s = r[key]
            print(f"  {key:22s} p50 {s['p50']}  p95 {s['p95']}  max {s['max']}  (n={s['n']})")
            print(f"  {'':22s} sorted {sorted(v for v in s['all'] if v is not None)}")
    for key in ("app_start_s", "setup_s", "send_spread_s", "burst_wall_s", "burst_cpu", "app_cpu_s_burst",
                "engine_cpu_s_burst", "server_chat_requests", "ok_sessions", "log_tracebacks"):
        if key in r:
            print(f"  {key}: {r[key]}")
    rss = r.get("rss_mb", {})
    print("  rss MB: " + ", ".join(f"{k} {v}" for k, v in rss.items() if k != "marks"))
    for mark, values in rss.get("marks", {}).items():
        print(f"    at {mark}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    print(f"  failures: {len(r.get('failures', []))}")
    for failure in r.get("failures", [])[:15]:
        print(f"    - {failure}")


def base_env(overrides: dict) -> dict:
    """No LAB_* settings inherited from whoever runs this; OPENAI_* etc. are stripped by start_app."""
    env = {name: None for name in os.environ if name.startswith("LAB_")}
    env.update(overrides)
    return env


def expect_fault_answer(args):
    """Phase a's check of one answer: exactly what the fault server streamed."""
    def expect(answer: str, shown: str) -> list[str]:
        if args.a_model == "long":
            count = answer.split().count("tok")
            return [] if count == args.a_max_tokens else [f"{count} 'tok' of {args.a_max_tokens}"]
        complete = " ".join(answer.split()) == SLOW_TEXT and "Finish reason" in shown
        return [] if complete else [f"answer {answer[:120]!r}"]
    return expect


def expect_builtin_answer(cap: int):
    """Phase b's check of one answer: finished, not empty, within max_tokens."""
    def expect(answer: str, shown: str) -> list[str]:
        problems = []
        if not FINISHED.search(shown):
            problems.append(f"no finish reason: {shown[-200:]!r}")
        m = COMPLETION.search(shown)
        if not m or int(m.group(1)) > cap:
            problems.append(f"completion tokens {m and m.group(1)} > {cap}")
        if len(answer.strip()) < 5:
            problems.append(f"answer {answer!r}")
        return problems
    return expect


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="classroom_load-"))
    results: dict = {}
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if set(phases) - {"a", "b", "b-f16"}:
        raise SystemExit(f"unknown phase in {args.phases!r}: use a, b, b-f16")
    common = dict(warmup=not args.no_warmup, animations=args.animations, wire=not args.no_wire,
                  keep=args.keep, browser_nice=args.browser_nice)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        try:
            for phase in phases:
                key = phase.replace("-", "_")
                left = args.deadline - (time.monotonic() - started)
                needed, budget = (150, 240) if phase == "a" else (100, 200)
                if left < needed:
                    results[key] = {"skipped": f"{left:.0f} s left before the deadline"}
                    print(f"\n== {phase}: skipped, {left:.0f} s left before the deadline ==", flush=True)
                    continue
                timeout = min(left - 20, budget)
                if phase == "a":
                    n = args.sessions_a
                    with TimedFaultServer(slow_delay=args.slow_delay, history=2000) as fault:
                        env = base_env({"OPENAI_BASE_URL": fault.base_url,
                                        "OPENAI_API_KEY": f"sk-bench-{secrets.token_hex(8)}"})
                        coro = run_phase(
                            browser, key, n, env, workdir, model=args.a_model,
                            max_tokens=args.a_max_tokens if args.a_model == "long" else None,
                            fault=fault, expect=expect_fault_answer(args),
                            wire_marker=SLOW_FRAME if args.a_model == "slow" else LONG_FRAME, **common)
                        try:
                            results[key] = await asyncio.wait_for(coro, timeout=timeout)
                        except asyncio.TimeoutError:
                            results[key] = {"sessions": n, "error": f"phase over {timeout:.0f} s",
                                            "failures": ["timeout"]}
                    results[key].update(model=args.a_model, slow_delay=args.slow_delay)
                    print_phase("A: fault server", results[key])
                else:
                    n, cap = args.sessions_b, args.b_max_tokens
                    kv = "f16" if phase == "b-f16" else "q8_0"
                    env = base_env({"LAB_LOCAL_KV_CACHE": kv})
                    coro = run_phase(browser, key, n, env, workdir, model=None, max_tokens=cap,
                                     fault=None, expect=expect_builtin_answer(cap), **common)
                    try:
                        results[key] = await asyncio.wait_for(coro, timeout=timeout)
                    except asyncio.TimeoutError:
                        results[key] = {"sessions": n, "error": f"phase over {timeout:.0f} s",
                                        "failures": ["timeout"]}
                    results[key].update(kv_cache=kv, max_tokens=cap)
                    print_phase(f"{phase}: built-in model, KV cache {kv}", results[key])
        finally:
            await browser.close()
    ok = all(not r.get("failures") and "error" not in r for r in results.values() if "skipped" not in r)
    results.update(ok=ok, browser_nice=args.browser_nice, wall_s=round(time.monotonic() - started, 1), workdir=str(workdir),
                   loadavg=round(os.getloadavg()[0], 2), cpus=len(os.sched_getaffinity(0)))
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
        results["workdir"] = None
    else:
        print(f"\nlogs kept in {workdir}")
    return results


def compact(results: dict) -> dict:
    """The JSON line: per-session lists are kept, marks dropped."""
    out = {}
    for key, value in results.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items()}
            if "rss_mb" in value:
                value["rss_mb"] = {k: v for k, v in value["rss_mb"].items() if k != "marks"}
        out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="a,b,b-f16")
    parser.add_argument("--sessions-a", type=int, default=30)
    parser.add_argument("--sessions-b", type=int, default=10)
    parser.add_argument("--a-model", choices=("slow", "long"), default="slow")
    parser.add_argument("--a-max-tokens", type=int, default=200, help='"long" pieces per answer')
    parser.add_argument("--slow-delay", type=float, default=0.2, help='seconds between "slow" deltas')
    parser.add_argument("--b-max-tokens", type=int, default=64)
    parser.add_argument("--deadline", type=float, default=450.0, help="hard stop, seconds")
    parser.add_argument("--no-warmup", action="store_true",
                        help="no single session before the burst (the burst then hits a cold process)")
    parser.add_argument("--animations", action="store_true",
                        help="leave CSS animations on (by default off: the browsers share the app's CPU)")
    parser.add_argument("--no-wire", action="store_true",
                        help="no CDP websocket timing (wire_ttft_s / wire_total_s)")
    parser.add_argument("--browser-nice", type=int, default=19,
                        help="niceness of Chromium during the burst (0: same priority as the app)")
    parser.add_argument("--keep", action="store_true", help="keep logs (and screenshots of failures)")
    args = parser.parse_args()
    if args.sessions_a > 98 or args.sessions_b > 98:
        raise SystemExit("at most 98 sessions (two-digit tokens; session-99 is the warm-up's)")

    def watchdog() -> None:  # last resort: stop the apps (their engines die with them), then exit
        for process in list(RUNNING_APPS):
            try:
                os.killpg(process.process.pid, signal.SIGKILL)
            except OSError:
                pass
        print(json.dumps({"ok": False, "error": f"watchdog: over {args.deadline + 30:.0f} s"}), flush=True)
        os._exit(3)
    timer = threading.Timer(args.deadline + 30, watchdog)
    timer.daemon = True
    timer.start()
    results = asyncio.run(main_async(args))
    timer.cancel()
    print(json.dumps(compact(results)))


if __name__ == "__main__":
    main()
