"""The base vs instruct page in Chromium on the real app and the real shipped models: one
click, both panes streaming at the same time."""

from __future__ import annotations

from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run

# Records both panes' text on every DOM change, with the time, from the click on.
_RECORD_JS = """() => {
    window.__panes = [];
    const text = key => {
        const code = document.querySelector(`.st-key-${key} code`);
        return code ? code.innerText : "";
    };
    new MutationObserver(() => {
        window.__panes.push([performance.now(), text("bvi_text_base"), text("bvi_text_instruct")]);
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_both_panes_stream_at_once(page, streamlit_url):
    page.goto(f"{streamlit_url}/Base_vs_Instruct")
    wait_for_app_run(page, timeout=120_000)  # the first visit may start both engines
    page.get_by_role("button", name="“What should I do on my upcoming trip to Paris?”").click()
    wait_for_app_run(page)
    page.evaluate(_RECORD_JS)
    page.get_by_role("button", name="Generate both").click()
    page.get_by_text("First token").nth(1).wait_for(timeout=120_000)
    wait_for_app_run(page, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    snapshots = page.evaluate("() => window.__panes")
    final_base, final_instruct = snapshots[-1][1], snapshots[-1][2]
    assert final_base.startswith("What should I do on my upcoming trip to Paris?")
    assert len(final_base) > len("What should I do on my upcoming trip to Paris?") + 10
    assert final_instruct.strip()
    # Pane 2 showed its first token while pane 1 was still growing, and the other way round.
    instruct_started = next(s for s in snapshots if s[2].strip())
    assert instruct_started[1] != final_base, "the instruct pane waited for the base pane"
    base_started = next(s for s in snapshots
                        if len(s[1]) > len("What should I do on my upcoming trip to Paris?"))
    assert base_started[2] != final_instruct, "the base pane waited for the instruct pane"
    page.screenshot(path="/tmp/bvi_browser.png", full_page=True)
