"""One phase of classroom_load.py: start the app, open N sessions (one browser context each),
set them up, send together, check every session, and measure: times in the pages, on the wire
(CDP) and at the fault server, who used the CPU in the burst, and the app's and engine's RSS."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import Counter
from pathlib import Path

from classroom.browser import (CHAT_INPUT, TOKEN_RE, TOPICS, WireClock, gather_limited, wire_request_text,
                               new_context, open_chat, pick_model, set_max_tokens, short, wait_ready)
from classroom.cpu_memory import CpuAccount, RssSampler, cpu_seconds, renice_browser
from classroom.servers import TimedFaultServer
from classroom.stats import summary
from tests.servers.streamlit_app import start_app

APP_TTFT = re.compile(r"Time to first token\s+([0-9,]+) ms")
RUNNING_APPS: list = []  # ServerProcess objects the watchdog must not leave behind

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
                panel = await wire_request_text(page)
                on_the_wire = set(TOKEN_RE.findall(panel))
                if on_the_wire != {own}:
                    problems.append(f"tokens on the wire panel {sorted(on_the_wire)}: {panel[:300]!r}")
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                problems.append(f"wire panel: {short(exc)}")
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
