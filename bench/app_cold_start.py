"""First reply from a cold start of the whole app: `streamlit run Home.py` in a new process,
Chromium opens the streaming-chat page, sends a message to the built-in model, and we time
the first streamed characters of the reply.

Last line JSON: {"app_ready_s", "first_token_s", "reply_done_s"} — seconds from launching
Streamlit. Goal (issue 2): first reply within 15 s of a cold start.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.streamlit_app import start_app, wait_for_app_run  # noqa: E402

CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        started = time.perf_counter()
        process, url = start_app(Path(tmp) / "app.log", Path(tmp))
        try:
            page = browser.new_page()
            page.goto(f"{url}/Streaming_Chat")
            wait_for_app_run(page, timeout=60_000)
            ready = time.perf_counter() - started
            page.locator(CHAT_INPUT).fill("What should I do on my upcoming trip to Paris?")
            page.locator(CHAT_INPUT).press("Enter")
            reply = page.locator(MESSAGE).nth(1)
            first = None
            while time.perf_counter() - started < 120:
                if reply.count() and reply.inner_text().strip():
                    first = time.perf_counter() - started
                    break
                time.sleep(0.02)
            page.get_by_text("Time to first token").wait_for(timeout=120_000)
            done = time.perf_counter() - started
            metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
        finally:
            process.stop()
            browser.close()
    print("metrics shown:", " | ".join(m.replace("\n", ": ") for m in metrics))
    print(f"app ready {ready:.2f} s; first reply characters {first:.2f} s; reply done {done:.2f} s "
          "(from launching Streamlit, built-in model not yet loaded)")
    print(json.dumps({"app_ready_s": round(ready, 2), "first_token_s": round(first, 2),
                      "reply_done_s": round(done, 2)}))


if __name__ == "__main__":
    main()
