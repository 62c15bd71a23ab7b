"""The shared ledger (lib/ledger): the same contract in one process and on a real Redis, the
budget holding when threads, processes and replicas race for its last dollar, and a ledger
that can't be asked pausing the shared key instead of letting requests through."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from lib.config import resolve_endpoints
from lib.deployment import PAUSED, DeploymentPolicy, SessionUsage
from lib.ledger.accounts import KeyAccount, admit_request, key_account
from lib.ledger import PROCESS_LEDGER, RETRY_S, ProcessLedger
from lib.ledger.core import InProcessLedger, LedgerUnavailable
from lib.ledger.redis_ledger import RedisLedger

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/gpt-5.2-chat"  # priced by genai-prices
SHARED = {"OPENROUTER_API_KEY": "sk-or-deployment-ledger"}
CENT = Decimal("0.01")


@pytest.fixture(params=["in-process", "redis"])
def ledger(request: pytest.FixtureRequest):
    if request.param == "in-process":
        return InProcessLedger()
    return RedisLedger(request.getfixturevalue("redis_url"))


def shared_endpoint():
    return next(e for e in resolve_endpoints({}, SHARED, {}) if e.id == "openrouter")


def test_a_reservation_holds_its_money_until_settled_or_released(ledger):
    first = ledger.reserve(Decimal("0.60"), Decimal("1.00"))
    assert first is not None
    assert ledger.reserve(Decimal("0.50"), Decimal("1.00")) is None  # 0.60 held + 0.50 > 1
    assert ledger.figures().held_usd == Decimal("0.60")
    ledger.settle(first, MODEL, Decimal("0.10"))  # the answer was short
    figures = ledger.figures()
    assert figures.spent_usd == Decimal("0.10") and figures.held_usd == 0
    assert figures.requests_by_model == {MODEL: 1}
    second = ledger.reserve(Decimal("0.90"), Decimal("1.00"))  # exactly what is left
    assert second is not None and ledger.reserve(Decimal("0.000000001"), Decimal("1.00")) is None
    ledger.release(second)  # refused by the provider: nothing spent, the hold is free
    assert ledger.figures().held_usd == 0 and ledger.spent_usd() == Decimal("0.10")
    assert ledger.reserve(Decimal("0.90"), Decimal("1.00")) is not None


def test_money_is_counted_to_the_nano_dollar_without_drift(ledger):
    for _ in range(1000):
        ledger.settle(None, MODEL, Decimal("0.0000123"))
    assert ledger.spent_usd() == Decimal("0.0123")


def test_a_reservation_nobody_settles_lapses(redis_url):
    now = [0.0]
    local = InProcessLedger(clock=lambda: now[0], hold_s=600)
    remote = RedisLedger(redis_url, hold_s=1)
    for ledger in (local, remote):
        assert ledger.reserve(Decimal("1.00"), Decimal("1.00")) is not None  # a crashed run's
        assert ledger.reserve(Decimal("0.01"), Decimal("1.00")) is None
    now[0] = 601.0
    time.sleep(1.2)
    for ledger in (local, remote):
        assert ledger.figures().held_usd == 0
        assert ledger.reserve(Decimal("0.01"), Decimal("1.00")) is not None


def test_thirty_threads_racing_for_the_last_dollars_never_overspend(ledger):
    budget, price = Decimal("1.00"), Decimal("0.07")  # room for 14 reservations, not 15
    won = []

    def student() -> None:
        for _ in range(5):
            if (held := ledger.reserve(price, budget)) is not None:
                won.append(held)

    threads = [threading.Thread(target=student) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 14
    for held in won:
        ledger.settle(held, MODEL, price)
    assert ledger.spent_usd() == Decimal("0.98") <= budget


RACER = """
import sys, time
from decimal import Decimal
from lib.ledger.redis_ledger import RedisLedger
ledger = RedisLedger(sys.argv[1])
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
won = 0
for _ in range(40):
    held = ledger.reserve(Decimal("0.03"), Decimal("1.00"))
    if held is not None:
        won += 1
        ledger.settle(held, "racer", Decimal("0.03"))
print(won)
"""


def test_four_processes_on_one_redis_share_one_budget(redis_url):
    """Four replicas, each trying 40 requests at $0.03 against a $1.00 budget, at once."""
    start = time.time() + 2.0
    racers = [subprocess.Popen([sys.executable, "-c", RACER, redis_url, str(start)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    results = [racer.communicate(timeout=60) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), [err for _, err in results]
    wins = [int(out) for out, _ in results]
    assert sum(wins) == 33  # floor(1.00 / 0.03): not one more, wherever it was asked
    figures = RedisLedger(redis_url).figures()
    assert figures.spent_usd == Decimal("0.99") and figures.requests_by_model == {"racer": 33}


def test_the_policy_reserves_the_worst_case_and_says_why_it_cannot(ledger):
    policy = DeploymentPolicy(max_spend_total=Decimal("0.05"))
    usage = SessionUsage()
    endpoint = shared_endpoint()
    answer = KeyAccount(usage, ledger)
    assert policy.admit(endpoint, MODEL, answer, prompt_tokens=100, max_tokens=1000) is None
    held = ledger.figures().held_usd
    assert held > 0  # 100 tokens in and 1,000 out at the model's price
    why = policy.admit(endpoint, MODEL, KeyAccount(usage, ledger), prompt_tokens=100,
                       max_tokens=100_000)
    assert "can't cover this request" in why and "100,000 tokens of answer" in why
    answer.record(MODEL, Decimal("0.001"))  # the answer: its cost replaces its hold
    figures = ledger.figures()
    assert figures.held_usd == 0 and figures.spent_usd == Decimal("0.001")
    assert usage.requests == 1
    # Another student's keys, the built-in model: never held against the class's budget.
    builtin = next(e for e in resolve_endpoints({}, SHARED, {}) if e.id == "builtin")
    assert policy.admit(builtin, "SmolLM2", answer, max_tokens=10**9) is None


def test_two_requests_of_one_session_in_flight_each_give_back_their_own_hold(ledger):
    """A long answer and a short summary of the same session and model: whichever ends
    first gives back its own hold, so the long answer's stays held while it streams."""
    policy = DeploymentPolicy(max_spend_total=Decimal("1.00"))
    usage = SessionUsage()
    answer, summary = KeyAccount(usage, ledger), KeyAccount(usage, ledger)
    assert policy.admit(shared_endpoint(), MODEL, answer, 0, 2000, 20_000) is None
    answer_hold = ledger.figures().held_usd
    assert policy.admit(shared_endpoint(), MODEL, summary, 1, 500, 200) is None
    summary.record(MODEL, Decimal("0.0004"))  # the summary is done first
    assert ledger.figures().held_usd == answer_hold  # the answer's hold, untouched
    summary.release(MODEL)  # a late second settle of the summary frees nothing else
    assert ledger.figures().held_usd == answer_hold
    answer.record(MODEL, Decimal("0.05"))
    assert ledger.figures().held_usd == 0 and ledger.spent_usd() == Decimal("0.0504")


def test_released_requests_give_their_hold_back(ledger):
    policy = DeploymentPolicy(max_spend_total=Decimal("0.02"))
    usage = SessionUsage()
    for _ in range(3):  # e.g. three requests the provider refused with a 429
        account = KeyAccount(usage, ledger)
        assert policy.admit(shared_endpoint(), MODEL, account, 0, 100, 1000) is None
        account.release(MODEL)
    assert ledger.figures().held_usd == 0 and usage.requests == 0


def test_a_ledger_that_cannot_be_asked_pauses_the_shared_key_and_counts_later(start_redis):
    url = start_redis()
    settings = {**SHARED, "LAB_LEDGER_URL": url, "LAB_MAX_SPEND_USD_TOTAL": "5"}
    policy = DeploymentPolicy.from_settings({}, settings)
    usage = SessionUsage()
    now = [0.0]
    ledgers = ProcessLedger(clock=lambda: now[0])  # as the app's PROCESS_LEDGER would be
    account = KeyAccount(usage, ledgers.get({}, settings), ledgers.defer)
    assert policy.admit(shared_endpoint(), MODEL, account, 0, 10, 50) is None
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    _stop_redis_at(url)
    with pytest.raises(LedgerUnavailable):
        policy.admit(shared_endpoint(), MODEL, KeyAccount(usage, account.ledger), 0, 10, 50)
    account.record(MODEL, Decimal("0.002"))  # the answer in flight: counted in the session,
    assert usage.requests == 1  # and kept for the ledger
    assert "$0.002 for openai/gpt-5.2-chat will be counted" in ledgers.last_problem
    # Redis comes back on the same port: the next use counts what waited, exactly once.
    with pytest.raises(LedgerUnavailable):
        ledgers.get({}, settings)  # for RETRY_S it is not even asked
    assert start_redis(port=port) == url
    now[0] = RETRY_S + 1
    again = ledgers.get({}, settings)
    assert again.spent_usd() == Decimal("0.002")
    ledgers.get({}, settings)
    assert again.spent_usd() == Decimal("0.002")


def test_admission_on_a_paused_ledger_says_so(start_redis):
    url = start_redis()
    settings = {**SHARED, "LAB_LEDGER_URL": url, "LAB_MAX_SPEND_USD_TOTAL": "5"}
    policy = DeploymentPolicy.from_settings({}, settings)
    _stop_redis_at(url)
    account = key_account(SessionUsage(), {}, settings)
    assert admit_request(policy, account, shared_endpoint(), MODEL, max_tokens=50) == PAUSED


def test_a_bad_ledger_setting_fails_closed_and_names_it():
    ledgers = ProcessLedger()
    with pytest.raises(LedgerUnavailable, match="LAB_LEDGER_URL must be"):
        ledgers.get({}, {"LAB_LEDGER_URL": "memcached://x"})
    settings = {**SHARED, "LAB_LEDGER_URL": "postgres://u:pw-9911@h/db",
                "LAB_MAX_SPEND_USD_TOTAL": "5"}
    policy = DeploymentPolicy.from_settings({}, settings)
    account = key_account(SessionUsage(), {}, settings)
    assert admit_request(policy, account, shared_endpoint(), MODEL) == PAUSED
    assert "pw-9911" not in (PROCESS_LEDGER.last_problem or "")


def test_the_password_in_a_ledger_url_is_never_shown(start_redis):
    url = start_redis("--requirepass", "ledger-pw-4242")
    authed = url.replace("redis://", "redis://:ledger-pw-4242@")
    ledger = RedisLedger(authed)
    assert ledger.reserve(CENT, Decimal(1)) is not None
    assert "ledger-pw-4242" not in ledger.description
    wrong = RedisLedger(url.replace("redis://", "redis://:wrong-pw-77@"))
    with pytest.raises(LedgerUnavailable) as refused:
        wrong.reserve(CENT, Decimal(1))
    assert "wrong-pw-77" not in str(refused.value) and "***" in str(refused.value)


def _stop_redis_at(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url).shutdown(nosave=True)
    except redis.exceptions.ConnectionError:
        pass  # it closes the connection as it goes


def test_a_ledger_that_failed_is_not_asked_again_for_a_while(start_redis):
    """Every page run notes its visit: a Redis that does not answer must not hold each run
    for its timeout. After RETRY_S the ledger is asked again, and used when it answers."""
    url = start_redis()
    now = [0.0]
    ledgers = ProcessLedger(clock=lambda: now[0])
    settings = {"LAB_LEDGER_URL": url}
    ledger = ledgers.get({}, settings)
    assert ledger.reserve(CENT, Decimal(1)) is not None
    ledgers.report(LedgerUnavailable("the shared ledger (redis) did not answer: TimeoutError"))
    with pytest.raises(LedgerUnavailable, match="did not answer"):
        ledgers.get({}, settings)  # not asked: it failed a moment ago
    now[0] = RETRY_S + 1
    assert ledgers.get({}, settings) is ledger  # asked again, and it answers
    assert ledger.figures().held_usd == CENT


def test_the_operator_view_reads_the_shared_ledger(redis_url, monkeypatch):
    """What every replica spent and holds, on the operator's view of any one of them."""
    from streamlit.testing.v1 import AppTest

    other_replica = RedisLedger(redis_url)
    other_replica.settle(None, "gpt-4o-mini", Decimal("0.25"))
    other_replica.reserve(Decimal("0.05"), Decimal("10"))
    for name, value in {**SHARED, "LAB_LEDGER_URL": redis_url, "LAB_MAX_SPEND_USD_TOTAL": "10",
                        "LAB_ADMIN_PASSWORD": "op-ledger-1"}.items():
        monkeypatch.setenv(name, value)
    home = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    home.text_input(key="lab_operator_pw").set_value("op-ledger-1").run()
    metrics = {m.label: m.value for m in home.metric}
    assert metrics["Spent on the deployment's keys"] == "$0.2500"
    assert metrics["Held for answers in flight"] == "$0.0500"
    assert metrics["Active sessions (last 10 min)"] == "1"  # this one, seen through Redis
    assert any("shared by every replica" in c.value for c in home.caption)
