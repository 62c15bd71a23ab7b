"""Two replicas of the app behind one Redis ledger (LAB_LEDGER_URL): the class's budget is one
budget, in Chromium against two real app processes, a real redis-server and the fault server
playing a priced model. While a student on replica one is being answered, the money that
answer may still cost is held, so a student on replica two is refused what the budget can't
cover; once the first answer is settled at its real (small) cost, the second goes through."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from lib.deployment import most_it_can_cost
from lib.ledger.redis_ledger import RedisLedger
from tests.browser.test_builtin_robustness import STOP, send, set_max_tokens, wait_until_streaming
from tests.browser.test_classroom_faults import pick_model
from tests.persistence import redis_server as redis_helper
from tests.servers.fault_server import DEFAULT_PACE
from tests.servers.streamlit_app import EXCEPTION, new_watched_page, wait_for_app_run

MODEL = "gpt-4.1-nano"  # priced by genai-prices; the fault server streams "paced" words for it
MAX_TOKENS = 200
SHARED_KEY = "sk-shared-class-key-5150"
expect.set_options(timeout=30_000)


def open_chat(page, url: str) -> None:
    page.goto(f"{url}/Streaming_Chat")
    wait_for_app_run(page, timeout=90_000)
    pick_model(page, MODEL)
    set_max_tokens(page, MAX_TOKENS)


def test_two_replicas_share_one_budget_and_cannot_both_spend_its_last_share(
        start_streamlit, fault_server, browser, page, tmp_path, request):
    fault_server.pace = 10.0  # 200 words over 20 s: the first answer is still coming
    request.addfinalizer(lambda: setattr(fault_server, "pace", DEFAULT_PACE))
    # Room for one answer's worst case (a short prompt, 200 tokens out), not for two.
    budget = most_it_can_cost(MODEL, 200, MAX_TOKENS) * Decimal("1.5")
    assert 2 * most_it_can_cost(MODEL, 0, MAX_TOKENS) > budget
    server, redis_url = redis_helper.start_redis(tmp_path)
    try:
        settings = {"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": SHARED_KEY,
                    "LAB_LEDGER_URL": redis_url, "LAB_MAX_SPEND_USD_TOTAL": str(budget)}
        first, second = start_streamlit(settings), start_streamlit(settings)
        other = new_watched_page(browser, timeout=30_000)
        open_chat(page, first)
        open_chat(other, second)

        send(page, "Tell me about Paris, at length.")
        wait_until_streaming(page, 1, min_chars=20)
        send(other, "Tell me about Rome.")
        refusal = other.get_by_text("can't cover this request")
        expect(refusal).to_be_visible()
        assert "Lower Max tokens" in other.locator('[data-testid="stAlert"]').last.inner_text()
        chats = [r for r in fault_server.requests if r.path.endswith("/chat/completions")]
        assert len(chats) == 1  # replica two sent nothing

        page.get_by_role("button", name=STOP).click()  # settled at what it really cost
        wait_for_app_run(page)
        figures = RedisLedger(redis_url).figures()
        assert figures.held_usd == 0 and 0 < figures.spent_usd < budget

        send(other, "Tell me about Rome, then.")
        stop = other.get_by_role("button", name=STOP)  # now it fits: one worst case again
        expect(stop).to_be_visible()
        expect(other.get_by_text(" w3", exact=False).last).to_be_visible()
        stop.click()
        wait_for_app_run(other)
        figures = RedisLedger(redis_url).figures()
        assert figures.requests_by_model == {MODEL: 2} and figures.spent_usd <= budget
        for shown in (page, other):
            assert shown.locator(EXCEPTION).count() == 0
            assert SHARED_KEY not in shown.content()
        logs = first.log() + second.log()
        assert "Traceback" not in logs and SHARED_KEY not in logs
        other.context.close()
    finally:
        server.stop()
