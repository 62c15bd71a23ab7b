"""The base vs instruct page's two offline models: first load, memory, speed, and the page.

Part 1, the engines (this process, as the app does it, through ``local_server``):
- first load of each model: for Gemma 3 270M base also the first-use assembly of its GGUF from
  the four PyPI chunk packages (into a fresh LAB_CACHE_DIR), then the engine's load;
- RSS of each engine child after generating (VmRSS, and VmHWM: the peak), and their sum:
  what a class costs with both models loaded in one app;
- tok/s of each model alone (greedy answers of --max-tokens, client side as the page computes
  it, and llama.cpp's own ``timings.predicted_per_second``), then both at once (side by side).

Part 2, the page (a real ``streamlit run`` with a fresh HOME, so the app assembles Gemma itself,
and Chromium): the first visit (both engines start), then --rounds clicks on "Generate both"
with the lecture's Paris prompt on a warm process: seconds from the click to each pane's first
text, the in-page tok/s shown under each pane, and llama.cpp's own tok/s for the same answer,
read from the page's inspector (its two tabs): the paired ratio in-page / engine.

Threads: LAB_LOCAL_* are removed, so everything runs with the defaults (all cores but one).
Usage: flock /tmp/lab-bench.lock .venv/bin/python bench/base_vs_instruct.py [--rounds 3]
Last line JSON: {"assemble_s", "first_load_s" {model: s}, "load_s" {model: engine's own},
"rss_mb" {model: {VmRSS, VmHWM}}, "rss_total_mb", "tokens_per_s" {model: {client, engine}},
"side_by_side_tokens_per_s" {model: {client, engine}}, "page_first_visit_s",
"first_text_after_click_s" {"base", "instruct"} (max over rounds), "in_page_tps" {pane: median},
"paired_ratio" {pane: median in-page/engine}, "threads", "loadavg"}.
Goals (issue 10): both panes' first text within 10 s of the click (warm); in-page tok/s >= 0.9 x
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
for _name in ("LAB_LOCAL_THREADS", "LAB_LOCAL_SLOTS", "LAB_LOCAL_CONTEXT", "LAB_LOCAL_KV_CACHE"):
    os.environ.pop(_name, None)
os.environ["LAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-bvi-cache-")  # a true first use

PARIS = "What should I do on my upcoming trip to Paris?"
LONG_PROMPT = ("Write a detailed seven-day plan for a first trip to Paris, with museums, food, "
               "walks and day trips for every day.")


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


def engine_tps(exchange: dict) -> float | None:
    """llama.cpp's predicted_per_second from an exchange's last SSE event that has timings."""
    for event in reversed(exchange.get("response", {}).get("sse_events", [])):
        data = event.removeprefix("data:").strip()
        if '"timings"' in data:
            return json.loads(data).get("timings", {}).get("predicted_per_second")
    return None


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def engines_part(max_tokens: int, runs: int) -> dict:
    from lib.base_vs_instruct.knobs import Knobs
    from lib.base_vs_instruct.pairs import OFFLINE_BASE, OFFLINE_INSTRUCT, Side, start_run
    from lib.base_vs_instruct.panes import PaneStream, chat_request, completion_request
    from lib.base_vs_instruct.side_by_side import interleave
    from lib.chat.providers import make_provider
    from lib.inspector import Inspector
    from lib.models.engine import local_server
    from lib.models.shipped import GEMMA3_BASE, SMOLLM2

    result: dict = {"first_load_s": {}, "load_s": {}, "rss_mb": {}, "tokens_per_s": {},
                    "side_by_side_tokens_per_s": {}}
    started = time.perf_counter()
    GEMMA3_BASE.gguf_path()
    result["assemble_s"] = round(time.perf_counter() - started, 2)
    for model in (GEMMA3_BASE, SMOLLM2):
        started = time.perf_counter()
        server = local_server(model.id)
        result["first_load_s"][model.id] = round(time.perf_counter() - started, 2)
        result["load_s"][model.id] = server.load_seconds
    result["first_load_s"][GEMMA3_BASE.id] = round(
        result["first_load_s"][GEMMA3_BASE.id] + result["assemble_s"], 2)
    print(f"first use: assemble {result['assemble_s']} s; first load {result['first_load_s']}; "
          f"engine load {result['load_s']}", flush=True)

    inspector = Inspector()
    sides = {GEMMA3_BASE.id: Side(make_provider(OFFLINE_BASE, inspector), GEMMA3_BASE.id),
             SMOLLM2.id: Side(make_provider(OFFLINE_INSTRUCT, inspector), SMOLLM2.id)}
    greedy = Knobs(max_new_tokens=max_tokens, do_sample=False)
    for model_id, side in sides.items():
        client, engine = [], []
        for _ in range(runs):
            if model_id == GEMMA3_BASE.id:
                request = completion_request(model_id, LONG_PROMPT, greedy, True)
            else:
                request = chat_request(model_id, [{"role": "user", "content": LONG_PROMPT}],
                                       greedy, True)
            stream = PaneStream(side.provider, request, LONG_PROMPT)
            for _ in stream:
                pass
            client.append(stream.metrics.tokens_per_s)
            engine.append(engine_tps(inspector.latest()))
        result["tokens_per_s"][model_id] = {"client": median(client), "engine": median(engine)}
        print(f"{model_id} alone: client {client} engine {engine} tok/s", flush=True)
    for model_id in sides:
        result["rss_mb"][model_id] = memory_mb(local_server(model_id).process.pid)
    result["rss_total_mb"] = round(sum(m["VmRSS"] for m in result["rss_mb"].values()), 1)
    print(f"RSS: {result['rss_mb']} (total {result['rss_total_mb']} MB)", flush=True)

    both = {GEMMA3_BASE.id: ([], []), SMOLLM2.id: ([], [])}
    for _ in range(runs):
        run = start_run(sides[GEMMA3_BASE.id], sides[SMOLLM2.id], LONG_PROMPT, greedy)
        for _ in interleave([run.base, run.instruct]):
            pass
        exchanges = {e["request"]["json"]["model"]: e for e in inspector.history()[-2:]}
        for model_id, stream in ((GEMMA3_BASE.id, run.base), (SMOLLM2.id, run.instruct)):
            both[model_id][0].append(stream.metrics.tokens_per_s)
            both[model_id][1].append(engine_tps(exchanges[model_id]))
    for model_id, (client, engine) in both.items():
        result["side_by_side_tokens_per_s"][model_id] = {"client": median(client),
                                                         "engine": median(engine)}
        print(f"{model_id} side by side: client {client} engine {engine} tok/s", flush=True)
    return result


# --- part 2: the page --------------------------------------------------------------------------

WATCH = """() => {
    window.__t = {click: null, base: null, instruct: null};
    const text = key => {
        const code = document.querySelector(`.st-key-${key} code`);
        return code ? code.innerText : "";
    };
    const baseStart = text("bvi_text_base");
    document.querySelector('.st-key-bvi_generate button').addEventListener(
        'click', () => { window.__t.click = Date.now(); }, {capture: true, once: true});
    new MutationObserver(() => {
        if (window.__t.click === null) return;
        const base = text("bvi_text_base"), instruct = text("bvi_text_instruct");
        if (window.__t.base === null && base.length > PROMPT_LENGTH && base !== baseStart)
            window.__t.base = Date.now();
        if (window.__t.instruct === null && instruct.trim() && base !== baseStart)
            window.__t.instruct = Date.now();
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}""".replace("PROMPT_LENGTH", str(len(PARIS)))


def page_part(rounds: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.servers.streamlit_app import start_app, wait_for_app_run

    workdir = Path(tempfile.mkdtemp(prefix="bench-bvi-app-"))
    (workdir / "home").mkdir()
    env = {"LAB_CACHE_DIR": None}  # the app's own cache folder under its fresh HOME
    launched = time.perf_counter()
    process, url = start_app(workdir / "app.log", workdir / "home", env)
    result: dict = {"first_text_after_click_s": {}, "in_page_tps": {}, "paired_ratio": {}}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/Base_vs_Instruct")
            wait_for_app_run(page, timeout=180_000)
            result["page_first_visit_s"] = round(time.perf_counter() - launched, 2)
            print(f"page ready {result['page_first_visit_s']} s after launching streamlit "
                  "(both engines started, Gemma assembled)", flush=True)
            page.get_by_role("button", name=f"“{PARIS}”").click()
            wait_for_app_run(page)
            firsts = {"base": [], "instruct": []}
            tps = {"base": [], "instruct": []}
            ratios = {"base": [], "instruct": []}
            for round_ in range(rounds):
                page.evaluate(WATCH)
                page.locator(".st-key-bvi_generate button").click()
                page.get_by_text("First token").nth(1).wait_for(timeout=120_000)
                wait_for_app_run(page, timeout=120_000)
                times = page.evaluate("window.__t")
                for pane in ("base", "instruct"):
                    firsts[pane].append(round((times[pane] - times["click"]) / 1000, 2)
                                        if times[pane] else None)
                shown = [float(m) for m in re.findall(
                    r"First token \d+ ms · ([0-9.]+) tok/s",
                    page.locator('[data-testid="stMain"]').inner_text())]
                engine = inspector_engine_tps(page)
                for pane, index in (("base", 0), ("instruct", 1)):
                    page_tps = shown[index] if len(shown) > index else None
                    tps[pane].append(page_tps)
                    own = engine.get(pane)
                    ratios[pane].append(round(page_tps / own, 3) if page_tps and own else None)
                print(f"round {round_ + 1}: first text after click {firsts['base'][-1]} s / "
                      f"{firsts['instruct'][-1]} s; in-page tok/s {shown}; engine {engine}",
                      flush=True)
                page.reload()
                wait_for_app_run(page, timeout=60_000)
            browser.close()
        for pane in ("base", "instruct"):
            known = [f for f in firsts[pane] if f is not None]
            result["first_text_after_click_s"][pane] = max(known) if known else None
            result["in_page_tps"][pane] = median(tps[pane])
            result["paired_ratio"][pane] = median(ratios[pane])
    finally:
        process.stop()
    return result


def inspector_engine_tps(page) -> dict[str, float]:
    """llama.cpp's own tok/s for each pane's answer, from the wire panel's two tabs."""
    page.get_by_text("On the wire: the exact request").click()
    expander = page.locator('[data-testid="stExpander"]').filter(has_text="On the wire")
    found = {}
    tabs = expander.get_by_role("tab")
    for index in range(tabs.count()):
        label = tabs.nth(index).inner_text()
        model = label.split(" · ")[0].strip()
        tabs.nth(index).click()
        # the panel of this tab: its SSE events name the model (hidden panels may be absent)
        panel = expander.get_by_role("tabpanel").filter(has_text=f'"model":"{model}"').first
        try:
            panel.get_by_text("predicted_per_second").first.wait_for(timeout=10_000)
        except Exception:
            continue
        values = re.findall(r'"predicted_per_second":\s*([0-9.]+)', panel.text_content() or "")
        if values:
            found["base" if "gemma" in label else "instruct"] = float(values[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=150)
    args = parser.parse_args()
    from lib.models.settings import default_threads

    result = engines_part(args.max_tokens, args.runs)
    result.update(page_part(args.rounds))
    result["threads"] = default_threads()
    result["loadavg"] = os.getloadavg()
    firsts = result["first_text_after_click_s"]
    print(f"goal: both panes' first text within 10 s of the click: "
          f"{all(f is not None and f <= 10 for f in firsts.values())} ({firsts})")
    print(f"goal: in-page tok/s >= 0.9 x engine's: {result['paired_ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
