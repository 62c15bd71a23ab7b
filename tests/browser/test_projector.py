"""Projector mode and narrow screens in Chromium: every page, at 1280x720 (a classroom
projector) and 390x844 (a phone), normal and projected, with nothing running off the right
edge; the projected page's text and code are large, Streamlit's Deploy button and menu are
gone, the sidebar is folded and comes back with a click, and the toggle undoes it all.

Screenshots of every page are left in each test's tmp_path (named in failure messages).
Streamlit scrolls inside its main area, not the document, so a "full page" screenshot is
taken with the window grown to the page's height, after the checks at the real size."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from lib.lessons import LESSONS
from tests.browser.test_app import url_path
from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run

VIEWPORTS = {"1280x720": (1280, 720), "390x844": (390, 844)}
PAGES = {"Home": ""} | {url_path(lesson): url_path(lesson) for lesson in LESSONS}
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
SIDEBAR = '[data-testid="stSidebar"]'
EXPAND_SIDEBAR = '[data-testid="stExpandSidebarButton"]'
WIRE = '[data-testid="stColumn"]'
NORMAL_BODY_PX = 17  # .streamlit/config.toml: baseFontSize

# Elements reaching past the right edge of the window. An element is fine there only inside
# something of the page that clips or scrolls sideways on purpose (a code block, a table, a
# scrolling container). The app's own scroll containers (the main area, the sidebar, the
# app's root) never excuse it: content wider than the screen is exactly what makes them
# scroll sideways or cut it off. Returns the outermost offenders, and those containers if
# their content is wider than they are.
OVERFLOW_JS = r"""() => {
  const right = window.innerWidth;
  const APP = '.stApp, [data-testid="stAppViewContainer"], .stMain, [data-testid="stSidebar"], '
            + '[data-testid="stSidebarContent"], [data-testid="stBottom"]';
  const ofTheApp = el => el === document.documentElement || el === document.body || el.matches(APP);
  const clipped = el => {
    for (let a = el.parentElement; a && !ofTheApp(a); a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;  // auto, hidden, scroll, clip
    }
    return false;
  };
  const describe = el => {
    const r = el.getBoundingClientRect();
    const owner = el.parentElement && el.parentElement.closest('[data-testid]');
    return {tag: el.tagName.toLowerCase(), testid: el.dataset.testid || null,
            inside: owner ? owner.dataset.testid : null,
            class: String(el.className && el.className.baseVal !== undefined
                          ? el.className.baseVal : el.className || '').slice(0, 60),
            text: (el.innerText || el.textContent || '').trim().slice(0, 40),
            rect: [r.left, r.top, r.right, r.bottom].map(Math.round)};
  };
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= right + 0.5 || r.width === 0 || r.height === 0) continue;
    if (r.left >= right) continue;  // wholly off screen: a hidden popover, a tooltip
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    if (clipped(el) || offenders.some(o => o.contains(el))) continue;
    offenders.push(el);
  }
  const wide = [...document.querySelectorAll('.stApp, [data-testid="stAppViewContainer"], .stMain')]
    .filter(s => s.scrollWidth > s.clientWidth + 1)
    .map(s => ({...describe(s), scrollWidth: s.scrollWidth, clientWidth: s.clientWidth}));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: right,
          offenders: offenders.map(describe), wide};
}"""

# What the projected page's text and code measure, and what of Streamlit's chrome shows.
LOOKS_JS = r"""() => {
  const px = sel => {
    const el = [...document.querySelectorAll(sel)].find(e => e.checkVisibility());
    return el ? parseFloat(getComputedStyle(el).fontSize) : null;
  };
  const shown = sel => [...document.querySelectorAll(sel)].some(e => e.checkVisibility());
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  return {
    paragraph: px('.stMain [data-testid="stMarkdownContainer"] p'),
    heading: px('.stMain h1'),
    code: px('.stMain [data-testid="stCode"] code'),
    deploy: shown('[data-testid="stAppDeployButton"]'),
    menu: shown('[data-testid="stMainMenu"]'),
    sidebarCollapsed: sidebar ? sidebar.dataset.collapsed === 'true' : null,
    sidebarRight: sidebar ? sidebar.getBoundingClientRect().right : null,
  };
}"""

# Whatever in the wire panel scrolls sideways or cuts its content off, instead of wrapping.
SCROLLING_WIRE_JS = r"""(selector) => {
  const wire = [...document.querySelectorAll(selector)].filter(c => c.innerText.includes('=== REQUEST ==='));
  return wire.flatMap(c => [...c.querySelectorAll('*')])
    .filter(e => e.checkVisibility() && getComputedStyle(e).overflowX !== 'visible'
                 && e.scrollWidth > e.clientWidth + 1)
    .map(e => ({tag: e.tagName.toLowerCase(), testid: e.dataset.testid || null,
                class: String(e.className).slice(0, 60), text: e.innerText.trim().slice(0, 40),
                scrollWidth: e.scrollWidth, clientWidth: e.clientWidth}));
}"""

# The font sizes of the wire panel's code and JSON text.
WIRE_CODE_PX_JS = r"""(selector) => [...document.querySelectorAll(selector)]
  .filter(c => c.innerText.includes('=== REQUEST ==='))
  .flatMap(c => [...c.querySelectorAll('[data-testid="stCode"] code, [data-testid="stJson"] span')])
  .filter(e => e.checkVisibility() && e.textContent.trim())
  .map(e => parseFloat(getComputedStyle(e).fontSize))"""


@contextmanager
def window(browser, size: str) -> Iterator:
    """A fresh browser (no cookie, no remembered sidebar) with a window of `size`."""
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
    finally:
        context.close()


def open_page(page, url: str, timeout: float = 60_000) -> None:
    page.goto(url)
    wait_for_app_run(page, timeout=timeout)
    settle(page)


def settle(page) -> None:
    """After the run: code blocks, tables and charts load their code lazily (a skeleton shows
    meanwhile), and fonts change the layout when they arrive."""
    page.wait_for_function('() => !document.querySelector(\'[data-testid="stSkeleton"]\')')
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_timeout(300)


def full_page_screenshot(page, path: Path) -> Path:
    """The whole page: the window grown to the main area's height, then put back."""
    size = page.viewport_size
    height = page.evaluate("""() => { const main = document.querySelector('.stMain');
        return main.scrollHeight + (window.innerHeight - main.clientHeight); }""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height, 16_000))})
    try:
        settle(page)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def assert_nothing_overflows(page, shot: Path, when: str = "") -> None:
    found = page.evaluate(OVERFLOW_JS)
    problems = []
    if found["scrollWidth"] > found["innerWidth"]:
        problems.append(f"the document is {found['scrollWidth']}px wide in a {found['innerWidth']}px window")
    problems += [f"wider than the window: {item}" for item in found["wide"]]
    problems += [f"past the right edge: {item}" for item in found["offenders"]]
    assert not problems, f"{when}horizontal overflow (screenshot: {shot}):\n" + "\n".join(problems)


def click_toggle(page) -> None:
    """The projector toggle. The pointer leaves the sidebar first: a rerun can leave it on the
    Share button below, whose tooltip then covers the toggle."""
    page.mouse.move(900, 400)
    page.locator(SIDEBAR).get_by_text("Projector mode").click()


def page_url(base: str, path: str, projector: bool) -> str:
    return f"{base}/{path}" + ("?projector=1" if projector else "")


@pytest.mark.parametrize("mode", ["normal", "projector"])
@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_nothing_runs_off_the_right_edge(streamlit_url, browser, tmp_path, name, size, mode):
    with window(browser, size) as page:
        open_page(page, page_url(streamlit_url, PAGES[name], mode == "projector"))
        shot = tmp_path / f"{name}-{size}-{mode}.png"
        page.screenshot(path=str(shot))
        assert page.locator(EXCEPTION).count() == 0, f"the page raised (screenshot: {shot})"
        assert_nothing_overflows(page, shot)
        full = full_page_screenshot(page, tmp_path / f"{name}-{size}-{mode}-full.png")
        assert_nothing_overflows(page, full, "after the whole page was drawn: ")


@pytest.mark.parametrize("size, mode", [("1280x720", "projector"), ("390x844", "normal")],
                         ids=["1280x720-projector", "390x844-normal"])
def test_a_real_exchange_in_the_wire_panel_stays_on_screen(streamlit_url, browser, tmp_path,
                                                           size, mode):
    with window(browser, size) as page:
        open_page(page, page_url(streamlit_url, "Streaming_Chat", mode == "projector"))
        page.locator(CHAT_INPUT).fill("What should I do on my upcoming trip to Paris?")
        page.locator(CHAT_INPUT).press("Enter")
        page.get_by_text("Time to first token").wait_for(timeout=120_000)
        wait_for_app_run(page, timeout=120_000)
        for label in ("Request headers (key redacted)", "Response headers"):
            page.get_by_text(label).click()
        settle(page)
        wire = page.locator(WIRE).filter(has_text="=== REQUEST ===").last
        assert "=== RESPONSE === 200" in " ".join(wire.inner_text().split())
        assert "server-sent events" in wire.inner_text()
        shot = tmp_path / f"Streaming_Chat-{size}-{mode}-exchange.png"
        page.screenshot(path=str(shot))
        assert page.locator(EXCEPTION).count() == 0, f"the page raised (screenshot: {shot})"
        assert_nothing_overflows(page, shot)
        if mode == "projector":  # the raw request and response wrap: no sideways scrolling
            scrolling = page.evaluate(SCROLLING_WIRE_JS, WIRE)
            assert not scrolling, f"the wire panel scrolls sideways (screenshot: {shot}): {scrolling}"
            sizes = sorted(set(page.evaluate(WIRE_CODE_PX_JS, WIRE)))
            assert sizes and sizes[0] >= 18, f"wire panel code below 18px (screenshot: {shot}): {sizes}"
        full_page_screenshot(page, tmp_path / f"Streaming_Chat-{size}-{mode}-exchange-full.png")


def test_projector_mode_is_large_folds_the_sidebar_and_switches_off(streamlit_url, browser,
                                                                   tmp_path):
    with window(browser, "1280x720") as page:
        open_page(page, streamlit_url)
        normal = page.evaluate(LOOKS_JS)
        assert normal["deploy"] and normal["menu"] and not normal["sidebarCollapsed"], normal
        assert normal["paragraph"] == NORMAL_BODY_PX, normal

        open_page(page, page_url(streamlit_url, "", projector=True))
        shot = tmp_path / "Home-projector.png"
        page.screenshot(path=str(shot))
        looks = page.evaluate(LOOKS_JS)
        assert looks["paragraph"] >= 24, (looks, str(shot))
        assert looks["heading"] > looks["paragraph"] * 1.5, (looks, str(shot))
        assert looks["code"] >= 18, (looks, str(shot))
        assert not looks["deploy"] and not looks["menu"], (looks, str(shot))
        assert looks["sidebarCollapsed"] and looks["sidebarRight"] <= 0, (looks, str(shot))  # folded

        page.locator(EXPAND_SIDEBAR).click()  # and one click brings it back
        sidebar = page.locator(SIDEBAR)
        toggle = sidebar.get_by_text("Projector mode")
        toggle.wait_for(state="visible")
        assert page.evaluate(LOOKS_JS)["sidebarCollapsed"] is False
        sidebar.get_by_role("link", name="Cost simulator").click()  # other pages: it stays open
        wait_for_app_run(page, timeout=60_000)
        page.get_by_role("heading", name="Cost simulator").wait_for()
        settle(page)
        looks = page.evaluate(LOOKS_JS)
        assert looks["sidebarCollapsed"] is False and looks["paragraph"] >= 24, looks
        assert "projector=1" in page.url

        click_toggle(page)  # off: the normal look, the sidebar where it was, the address plain
        page.wait_for_function("() => !location.search.includes('projector')")
        wait_for_app_run(page)
        settle(page)
        page.screenshot(path=str(tmp_path / "Cost_Simulator-projector-off.png"))
        looks = page.evaluate(LOOKS_JS)
        assert looks["paragraph"] == NORMAL_BODY_PX, looks
        assert looks["deploy"] and looks["menu"] and looks["sidebarCollapsed"] is False, looks

        click_toggle(page)  # on again: it folds again
        page.wait_for_function("() => location.search.includes('projector=1')")
        wait_for_app_run(page)
        page.locator(EXPAND_SIDEBAR).wait_for(state="visible")
        assert page.evaluate(LOOKS_JS)["sidebarCollapsed"] is True

        # Opened by hand, the sidebar is remembered open by this browser (Streamlit's
        # localStorage), which overrides the page's wish; the projected page, reloaded, is
        # still projected and folded.
        page.locator(EXPAND_SIDEBAR).click()
        page.locator(SIDEBAR).get_by_text("Projector mode").wait_for(state="visible")
        page.reload()
        wait_for_app_run(page, timeout=60_000)
        settle(page)
        page.locator(EXPAND_SIDEBAR).wait_for(state="visible")
        looks = page.evaluate(LOOKS_JS)
        assert looks["sidebarCollapsed"] is True and looks["paragraph"] >= 24, looks
        assert not looks["deploy"] and not looks["menu"], looks
