"""The whole app from a cold start, in a real browser: `streamlit run Home.py` in a new
process, Chromium opens the Streaming Chat page (which starts the built-in model's engine),
sends a message, and we time the page and the first characters of the reply. Then a few
more replies (each in a fresh browser session, the engine already up) give the in-page
tokens/s, read from the metrics row ("Tokens / s") under each answer.

For comparison, the same request (the page's system prompt, message and default sampling:
temperature 0.7, top_p 1, max_tokens 256) goes straight to an engine of the bench's own with
the same thread setting (started with ``local_server()``, idle between answers), one answer
before or after each in-page one, alternating, so the drift of a shared machine cancels in
the paired ratio: the client's tok/s (``ChatStream.metrics``, as the page computes it) and
llama.cpp's own (``timings.predicted_per_second``). The engine's own tok/s during the
in-page answers is read from the page's inspector (the raw SSE events), which tells whether a
slower page comes from the engine (sharing the CPU with Streamlit and Chromium) or from
delivering the stream.

The page's "Time to first token" counts from the request; "first characters after Enter" also
counts the script's rerun before it (on the app's first answer that includes the first
``st.write_stream`` call, which imports numpy, pandas and pyarrow: about a second or two).

Threads: LAB_LOCAL_* are removed from the environment, so the app and the reference use the
default (all cores but one). Usage: python bench/app_cold_start.py [--replies 5]

Last line JSON: {"health_s", "page_ready_s", "first_chars_s", "first_chars_after_send_s",
"reply_done_s" (seconds from launching Streamlit, except after_send), "in_page_tps",
"in_page_engine_tps", "engine_tps", "engine_own_tps", "ratio" (in_page_tps / engine_tps,
medians), "paired_ratio" (median of the per-round ratios), "app_cpu_s_per_answer",
"browser_cpu_s_per_answer", "engine_cpu_s_per_answer", "threads",
"loadavg"}. Goals: first reply within 15 s of a cold start (issue 2); in-page tok/s >= 0.9 x
the engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SETTINGS_ENV = ("LAB_LOCAL_THREADS", "LAB_LOCAL_SLOTS", "LAB_LOCAL_CONTEXT", "LAB_LOCAL_KV_CACHE")
for _name in SETTINGS_ENV:  # the defaults, for the app and for the reference engine alike
    os.environ.pop(_name, None)

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.streamlit_app import start_app, wait_for_app_run  # noqa: E402

CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
METRIC = '[data-testid="stMetric"]'
SYSTEM_PROMPT = "You help travelers make plans for their trips."  # the page's default
MESSAGE = "What should I do on my upcoming trip to Paris?"

# Records (Date.now()) when the assistant's message first shows text of the answer: its
# markdown, not the Stop button's label or the avatar. A MutationObserver, so the page is
# not polled from Python while it streams.
WATCH_FIRST_CHARS = """() => {
  window.__firstChars = null;
  const shown = () => {
    const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
    if (messages.length < 2) return false;
    const reply = messages[messages.length - 1];
    return [...reply.querySelectorAll('[data-testid="stMarkdownContainer"]')]
      .some(el => !el.closest('button') && el.innerText.trim().length > 0);
  };
  const observer = new MutationObserver(() => {
    if (shown()) { window.__firstChars = Date.now(); observer.disconnect(); }
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def page_metrics(page) -> dict[str, str]:
    shown = {}
    for text in page.locator(METRIC).all_inner_texts():
        label, _, value = text.strip().partition("\n")
        shown[label.strip()] = value.strip()
    return shown


def inspector_engine_tps(page) -> float | None:
    """llama.cpp's own predicted_per_second, from the raw SSE events the wire panel (always
    beside the chat) shows."""
    wire = page.locator('[data-testid="stColumn"]').filter(has_text="=== REQUEST ===").last
    try:
        wire.get_by_text("predicted_per_second").first.wait_for(timeout=10_000)
    except Exception:
        return None
    found = re.findall(r'"predicted_per_second":\s*([0-9.]+)', wire.text_content() or "")
    return float(found[-1]) if found else None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of one process so far (its own threads, not its children)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return children


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        try:
            children = child_pids(todo.pop())
        except OSError:
            continue
        found.update(children)
        todo.extend(children)
    return found


def machine_cpu() -> tuple[float, float, float]:
    """(busy, idle, steal) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return (sum(values[:8]) - idle - steal) / tick, idle / tick, steal / tick


def browser_cpu(exclude: set[int]) -> float:
    """CPU seconds so far of this bench's other descendants: Playwright's driver, Chromium."""
    return sum(cpu_seconds(p) for p in descendants(os.getpid()) - exclude)


def send_and_time(page, app_pid: int, timeout_ms: float = 120_000) -> dict:
    """Send the message on an idle chat page; wall-clock times of send, first chars, metrics,
    and the CPU seconds spent meanwhile by the Streamlit process, its engine child, the
    browser (Chromium and Playwright's driver) and the whole machine."""
    engine_pid = next(iter(child_pids(app_pid)), None)
    exclude = {app_pid, *descendants(app_pid), *REFERENCE_PIDS}
    cpu_before = (cpu_seconds(app_pid), cpu_seconds(engine_pid), browser_cpu(exclude),
                  machine_cpu())
    page.evaluate(WATCH_FIRST_CHARS)
    page.locator(CHAT_INPUT).fill(MESSAGE)
    sent = time.time()
    page.locator(CHAT_INPUT).press("Enter")
    page.get_by_text("Tokens / s").wait_for(timeout=timeout_ms)
    done = time.time()
    wait_for_app_run(page, timeout=timeout_ms)
    engine_pid = engine_pid or next(iter(child_pids(app_pid)), None)
    machine = [a - b for a, b in zip(machine_cpu(), cpu_before[3])]
    cpu = (cpu_seconds(app_pid) - cpu_before[0], cpu_seconds(engine_pid) - cpu_before[1],
           browser_cpu(exclude) - cpu_before[2])
    first = page.evaluate("window.__firstChars")
    shown = page_metrics(page)
    try:
        tps = float(shown.get("Tokens / s", ""))
    except ValueError:
        tps = None
    return {"sent": sent, "first": first / 1000 if first else None, "done": done,
            "in_page_tps": tps, "metrics": shown, "engine_tps": inspector_engine_tps(page),
            "app_cpu_s": cpu[0], "engine_cpu_s": cpu[1], "browser_cpu_s": cpu[2],
            "machine_busy_s": machine[0], "machine_idle_s": machine[1],
            "machine_steal_s": machine[2], "wall_s": done - sent}


REFERENCE_PIDS: set[int] = set()  # the reference engine: not the browser's


class EngineReference:
    """The page's request straight to an engine of its own with the same settings (started
    with local_server(), like the app's); idle between answers."""

    def __init__(self) -> None:
        from lib.chat.history import to_api_messages
        from lib.chat.providers import make_provider
        from lib.config import BUILTIN
        from lib.inspector import Inspector
        from lib.models.engine import local_server

        self.server = local_server()
        REFERENCE_PIDS.add(self.server.process.pid)
        self.inspector = Inspector()
        self.provider = make_provider(BUILTIN, self.inspector)
        self.model = BUILTIN.suggested_models[0]
        self.messages = to_api_messages([{"role": "user", "content": MESSAGE}], SYSTEM_PROMPT)
        self.answer()  # warm-up

    def answer(self) -> dict:
        from lib.chat.sampling import SamplingOptions

        before, started = machine_cpu(), time.time()
        stream = self.provider.stream_chat(self.messages, self.model, SamplingOptions())
        for _ in stream:
            pass
        machine = [a - b for a, b in zip(machine_cpu(), before)]
        if stream.error:
            raise SystemExit(f"engine reference: {stream.error}")
        own = None
        for event in reversed(self.inspector.latest()["response"].get("sse_events", [])):
            if '"timings"' in event:
                own = json.loads(event.removeprefix("data:").strip())["timings"].get(
                    "predicted_per_second")
                break
        return {"tps": stream.metrics.tokens_per_s, "own_tps": own,
                "tokens": stream.metrics.completion_tokens, "wall_s": time.time() - started,
                "machine_busy_s": machine[0], "machine_idle_s": machine[1]}

    def stop(self) -> None:
        self.provider.close()
        self.server.stop()


def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def rng(values, fmt: str = ".1f") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    return f"{med(values):{fmt}} [{min(values):{fmt}}–{max(values):{fmt}}]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=5,
                        help="warm in-page replies, each paired with one straight to the engine")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    reference = EngineReference()
    threads = reference.server.settings.threads
    pairs = []
    try:
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            launched = time.time()
            process, url = start_app(Path(tmp) / "app.log", Path(tmp))
            app_pid = process.process.pid
            try:
                health = time.time() - launched
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                opened = time.time()
                page.goto(f"{url}/Streaming_Chat")
                wait_for_app_run(page, timeout=90_000)
                ready = time.time()
                cold = send_and_time(page, app_pid)
                for i in range(args.replies):
                    # a new session each time: an empty conversation, the same prompt
                    page.goto(f"{url}/Streaming_Chat")
                    wait_for_app_run(page, timeout=60_000)
                    if i % 2:  # alternate which goes first: drift of a shared machine cancels
                        in_page, direct = send_and_time(page, app_pid), reference.answer()
                    else:
                        direct, in_page = reference.answer(), send_and_time(page, app_pid)
                    pairs.append((in_page, direct))
            except Exception:
                print(Path(tmp, "app.log").read_text(errors="replace")[-3000:])
                raise
            finally:
                process.stop()
                browser.close()
    finally:
        reference.stop()
    load_after = os.getloadavg()[0]

    warm = [p for p, _ in pairs]
    direct = [d for _, d in pairs]
    in_page = [w["in_page_tps"] for w in warm]
    engine = [d["tps"] for d in direct]
    paired = [w["in_page_tps"] / d["tps"] for w, d in pairs if w["in_page_tps"] and d["tps"]]
    ratio = med(in_page) / med(engine) if med(in_page) and med(engine) else None
    first_chars = cold["first"] - launched if cold["first"] else None
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before:.2f} -> {load_after:.2f}; "
          f"engine threads {threads} (the default: all cores but one)")
    print(f"cold start, seconds from launching Streamlit: /_stcore/health {health:.2f}; "
          f"page ready {ready - launched:.2f} (goto -> ready {ready - opened:.2f}, incl. starting "
          f"the engine); first reply characters {first_chars:.2f} "
          f"({cold['first'] - cold['sent']:.2f} after Enter); reply done "
          f"{cold['done'] - launched:.2f}")
    print("first reply's metrics row:", " | ".join(f"{k}: {v}" for k, v in cold["metrics"].items()))
    print(f"in-page Tokens / s, {len(warm)} warm replies (fresh sessions): {rng(in_page)} "
          f"(first reply {cold['in_page_tps']}); engine's own tok/s during them "
          f"{rng(w['engine_tps'] for w in warm)}; first characters "
          f"{rng(((w['first'] - w['sent']) * 1000 for w in warm if w['first']), '.0f')} ms "
          "after Enter")
    print(f"CPU seconds per in-page answer: Streamlit process "
          f"{rng((w['app_cpu_s'] for w in warm), '.2f')}, its engine "
          f"{rng((w['engine_cpu_s'] for w in warm), '.2f')}, browser (Chromium + Playwright) "
          f"{rng((w['browser_cpu_s'] for w in warm), '.2f')}; whole machine busy "
          f"{rng((w['machine_busy_s'] for w in warm), '.2f')}, idle "
          f"{rng((w['machine_idle_s'] for w in warm), '.2f')}, steal "
          f"{rng((w['machine_steal_s'] for w in warm), '.2f')}; over "
          f"{rng((w['wall_s'] for w in warm), '.2f')} s of wall time")
    print(f"engine alone, same request and threads, interleaved with them: client {rng(engine)} "
          f"tok/s, engine's own {rng(d['own_tps'] for d in direct)} tok/s, tokens "
          f"{[d['tokens'] for d in direct]} (in page: "
          f"{[w['metrics'].get('Completion tokens') for w in warm]}); whole machine busy "
          f"{rng((d['machine_busy_s'] for d in direct), '.2f')}, idle "
          f"{rng((d['machine_idle_s'] for d in direct), '.2f')} CPU s over "
          f"{rng((d['wall_s'] for d in direct), '.2f')} s")
    if ratio is not None:
        print(f"in-page / engine = {ratio:.3f} (medians); paired per round {rng(paired, '.3f')} "
              "(goal >= 0.9)")
    print(json.dumps({
        "health_s": round(health, 2), "page_ready_s": round(ready - launched, 2),
        "first_chars_s": round(first_chars, 2) if first_chars else None,
        "first_chars_after_send_s": round(cold["first"] - cold["sent"], 2) if cold["first"] else None,
        "reply_done_s": round(cold["done"] - launched, 2),
        "first_reply_ttft_shown": cold["metrics"].get("Time to first token"),
        "in_page_tps": rounded(med(in_page)), "in_page_tps_first_reply": cold["in_page_tps"],
        "in_page_engine_tps": rounded(med(w["engine_tps"] for w in warm)),
        "engine_tps": rounded(med(engine)), "engine_own_tps": rounded(med(d["own_tps"] for d in direct)),
        "ratio": rounded(ratio, 3), "paired_ratio": rounded(med(paired), 3),
        "app_cpu_s_per_answer": rounded(med(w["app_cpu_s"] for w in warm), 2),
        "browser_cpu_s_per_answer": rounded(med(w["browser_cpu_s"] for w in warm), 2),
        "engine_cpu_s_per_answer": rounded(med(w["engine_cpu_s"] for w in warm), 2),
        "threads": threads, "loadavg": [round(load_before, 2), round(load_after, 2)],
    }))


if __name__ == "__main__":
    main()
