"""The browser and the page driving both classroom benchmarks use (classroom_load.py and
classroom_mode.py): headless Chromium, a browser context per session, the chat page's controls,
the session tokens in the questions, and a page's websocket frames as Chromium saw them (CDP)."""

from __future__ import annotations

import asyncio
import base64
import re

from tests.servers.streamlit_app import APP_READY

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
SIDEBAR = '[data-testid="stSidebar"]'
TOKEN_RE = re.compile(r"session-\d{2}-[0-9a-f]{6}")
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


async def wire_request_text(page) -> str:
    """The wire panel's text (always beside the chat) once its request shows a session token
    (the panel redraws after the answer under load), or whatever it shows after 20 s."""
    wire = page.locator('[data-testid="stColumn"]').filter(has_text="=== REQUEST ===").last
    await wire.wait_for(timeout=20_000)
    try:
        await page.wait_for_function(
            """(pattern) => [...document.querySelectorAll('[data-testid="stColumn"]')]
                .some(c => c.innerText.includes("=== REQUEST ===") && new RegExp(pattern).test(c.innerText))""",
            arg=TOKEN_RE.pattern, timeout=20_000, polling=250)
    except Exception:  # noqa: BLE001 - the caller reports what it shows
        pass
    return await wire.inner_text()


async def gather_limited(limit: int, coroutines) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def run(coroutine):
        async with semaphore:
            return await coroutine
    return await asyncio.gather(*(run(c) for c in coroutines), return_exceptions=True)


def short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


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
