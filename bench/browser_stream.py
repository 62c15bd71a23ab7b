"""A long answer on screen: the chat page in Chromium vs the raw openai SDK, same stream.

A loopback server (the tests' fault server, scenario "paced", in its own process) streams
2,000 numbered tokens (" w1" … " w2000") at 200 tokens/s. Each round:
- raw: the openai SDK consumes one stream; time from the request to the last token;
- page: the real app (`streamlit run`, in its own process) in headless Chromium; time from
  pressing Enter to " w2000" being on screen. A MutationObserver in the page notes when
  each token number first appears, so the on-screen lag can be followed along the answer:
  lag(k) = seen(k) − (seen(1) + (k − 1)/200), the delay beyond the server's own schedule,
  at 10 %, 50 %, 90 % and 100 % of the answer. Flat: the screen keeps up to the end.
The last line is JSON:
{"ratio": <median page / median raw>, "raw_s": …, "page_s": …, "lag_ms": {"10%": …, …}}
Goal: ratio <= 1.10, and a lag that stays flat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.processes import free_port  # noqa: E402
from tests.servers.streamlit_app import start_app, wait_for_app_run  # noqa: E402

TOKENS = 2000
PACE = 200.0
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
WATCH = """() => {
  window.__seen = {};
  const record = () => {
    const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
    if (messages.length < 2) return;
    const text = messages[messages.length - 1].innerText;
    const match = text.match(/w(\\d+)\\s*$/m) || [...text.matchAll(/w(\\d+)/g)].pop();
    if (!match) return;
    const last = parseInt(match[1]);
    if (!(last in window.__seen)) window.__seen[last] = performance.now();
  };
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


def start_fault_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.fault_server", "--port", str(port), "--pace", str(PACE)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()  # "Fault server on ..." once it listens
    return proc, f"http://127.0.0.1:{port}/v1"


def raw_sdk(base_url: str) -> float:
    client = openai.OpenAI(base_url=base_url, api_key="sk-bench-browser", max_retries=0)
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model="paced", messages=[{"role": "user", "content": "Count."}], max_tokens=TOKENS,
        stream=True, stream_options={"include_usage": True})
    last = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
    client.close()
    return last - started


def page_round(page, url: str) -> tuple[float, dict[int, float]]:
    page.goto(f"{url}/Streaming_Chat")
    wait_for_app_run(page, timeout=120_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').nth(1).click()
    page.get_by_role("option", name="paced", exact=True).click()
    wait_for_app_run(page)
    sidebar.get_by_text("Sampling").click()
    box = sidebar.get_by_role("spinbutton", name="max_tokens")
    box.fill(str(TOKENS))
    box.press("Enter")
    wait_for_app_run(page)
    page.evaluate(WATCH)
    page.locator(CHAT_INPUT).fill("Count to two thousand.")
    started = page.evaluate("performance.now()")
    page.locator(CHAT_INPUT).press("Enter")
    page.wait_for_function(f"() => window.__seen && window.__seen[{TOKENS}] !== undefined",
                           timeout=120_000, polling=20)
    seen = {int(k): v for k, v in page.evaluate("window.__seen").items()}
    return (seen[TOKENS] - started) / 1000, seen


def lag_profile(seen: dict[int, float]) -> dict[str, float]:
    first = min(seen)
    base = seen[first] - (first - 1) * 1000 / PACE
    marks = {}
    for share in (0.1, 0.5, 0.9, 1.0):
        k = min((n for n in seen if n >= share * TOKENS), default=max(seen))
        marks[f"{int(share * 100)}%"] = round(seen[k] - (base + (k - 1) * 1000 / PACE), 1)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server, base_url = start_fault_server()
    home = Path(tempfile.mkdtemp(prefix="bench-browser-stream-"))
    app, url = start_app(home / "app.log", home, {
        "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-bench-browser"})
    raw, shown, lags = [], [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            for round_ in range(args.rounds):
                raw.append(raw_sdk(base_url))
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                seconds, seen = page_round(page, url)
                page.close()
                shown.append(seconds)
                lags.append(lag_profile(seen))
                print(f"round {round_ + 1}: raw {raw[-1]:.2f} s, on screen {seconds:.2f} s, "
                      f"lag {lags[-1]}", flush=True)
            browser.close()
    finally:
        app.stop()
        server.terminate()
    median_lag = {mark: statistics.median(lag[mark] for lag in lags) for mark in lags[0]}
    result = {"tokens": TOKENS, "pace_tok_s": PACE, "raw_s": round(statistics.median(raw), 3),
              "page_s": round(statistics.median(shown), 3),
              "ratio": round(statistics.median(shown) / statistics.median(raw), 3),
              "lag_ms": median_lag}
    print(f"raw SDK {result['raw_s']} s, on screen {result['page_s']} s: ratio {result['ratio']} "
          f"(goal <= 1.10); on-screen lag beyond the server's schedule: {median_lag}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
