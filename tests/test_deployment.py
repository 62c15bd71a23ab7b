"""The deployment policy (lib/deployment.py) and the typed-URL rule (lib/config.py), unit-tested."""

import threading
from decimal import Decimal

from lib.config import custom_urls_allowed, resolve_endpoints
from lib.deployment import DeploymentPolicy, SessionUsage
from lib.ledger.accounts import KeyAccount
from lib.ledger.core import InProcessLedger

SHARED = {"OPENROUTER_API_KEY": "sk-or-deployment"}
MODEL = "openai/gpt-5.2-chat"


def by_id(endpoints):
    return {e.id: e for e in endpoints}


def shared_endpoint():
    return by_id(resolve_endpoints({}, SHARED, {}))["openrouter"]


def students_endpoint():
    return by_id(resolve_endpoints({}, {}, {"openrouter.api_key": "sk-or-student"}))["openrouter"]


def test_caps_guard_the_deployments_keys_only():
    policy = DeploymentPolicy.from_settings({"LAB_ALLOWED_MODELS": [MODEL]},
                                            {"LAB_MAX_REQUESTS_PER_SESSION": "2"})
    assert policy.refusal(shared_endpoint(), MODEL, SessionUsage()) is None
    assert "allows only" in policy.refusal(shared_endpoint(), "some/other", SessionUsage())
    assert "2 requests" in policy.refusal(shared_endpoint(), MODEL, SessionUsage(requests=2))
    assert policy.refusal(students_endpoint(), "some/other", SessionUsage(requests=99)) is None
    builtin = by_id(resolve_endpoints({}, SHARED, {}))["builtin"]
    assert policy.refusal(builtin, "SmolLM2-135M-Instruct", SessionUsage(requests=99)) is None
    assert policy.models_for(shared_endpoint(), ("a", "b")) == (MODEL,)
    assert policy.models_for(students_endpoint(), ("a", "b")) == ("a", "b")


def test_the_total_budget_is_the_processs_not_the_sessions():
    policy = DeploymentPolicy.from_settings({}, {"LAB_MAX_SPEND_USD_TOTAL": "1.00"})
    fresh = SessionUsage()  # a reloaded page: a new session with nothing spent
    assert policy.refusal(shared_endpoint(), MODEL, fresh, Decimal("0.99")) is None
    refusal = policy.refusal(shared_endpoint(), MODEL, fresh, Decimal("1.00"))
    assert "whole budget" in refusal and "$1.00" in refusal
    assert "no price is known" in policy.refusal(shared_endpoint(), "mystery", fresh,
                                                  price_known=False)


def test_the_per_session_spend_cap_stays_as_a_courtesy():
    policy = DeploymentPolicy.from_settings({}, {"LAB_MAX_SPEND_USD_PER_SESSION": "0.10"})
    assert policy.refusal(shared_endpoint(), MODEL, SessionUsage(spent_usd=Decimal("0.09"))) is None
    assert "spent $0.1000" in policy.refusal(shared_endpoint(), MODEL,
                                             SessionUsage(spent_usd=Decimal("0.10")))


def test_unreadable_limits_fail_closed_and_name_the_setting():
    for settings in ({"LAB_MAX_REQUESTS_PER_SESSION": "ten"},
                     {"LAB_MAX_SPEND_USD_PER_SESSION": "nan"},
                     {"LAB_MAX_SPEND_USD_TOTAL": "-1"},
                     {"LAB_MAX_SPEND_USD_TOTAL": "lots"}):
        policy = DeploymentPolicy.from_settings(settings, {})
        message = policy.refusal(shared_endpoint(), MODEL, SessionUsage())
        assert "misconfigured" in message and next(iter(settings)) in message


def test_the_ledger_adds_up_under_concurrent_sessions():
    ledger = InProcessLedger()

    def session(n: int) -> None:
        for _ in range(200):
            ledger.settle(None, f"model-{n % 3}", Decimal("0.001"))
            ledger.seen(f"session-{n}")

    threads = [threading.Thread(target=session, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = ledger.figures()
    assert figures.spent_usd == Decimal("6.000")
    assert sum(figures.requests_by_model.values()) == 6000
    assert figures.active_sessions == 30


def test_sessions_idle_for_ten_minutes_are_no_longer_active():
    now = [0.0]
    ledger = InProcessLedger(clock=lambda: now[0])
    ledger.seen("a")
    now[0] = 500.0
    ledger.seen("b")
    now[0] = 700.0
    assert ledger.figures().active_sessions == 1


def test_typed_urls_are_off_on_a_deployment_with_keys_unless_allowed():
    assert custom_urls_allowed({}, {})  # a laptop: no deployment keys
    assert not custom_urls_allowed({}, SHARED)
    assert not custom_urls_allowed({"providers": {"x": {"base_url": "http://h/v1",
                                                        "api_key": "k-123"}}}, {})
    assert custom_urls_allowed({}, {**SHARED, "LAB_ALLOW_CUSTOM_URLS": "1"})
    assert custom_urls_allowed({"LAB_ALLOW_CUSTOM_URLS": True}, SHARED)

    typed = {"openai.base_url": "http://169.254.169.254/v1", "openai.api_key": "sk-mine-123"}
    locked = by_id(resolve_endpoints({}, SHARED, typed))
    assert locked["openai"].base_url == "https://api.openai.com/v1"  # the typed URL is ignored
    assert not locked["openai"].url_editable
    assert set(locked) == {"openrouter", "openai", "builtin"}  # no localhost presets

    opened = by_id(resolve_endpoints({}, {**SHARED, "LAB_ALLOW_CUSTOM_URLS": "yes"}, typed))
    assert opened["openai"].base_url == "http://169.254.169.254/v1"
    assert opened["openai"].api_key == "sk-mine-123"  # the visitor's own key, never the shared
    assert "ollama" in opened


def test_operator_configured_local_servers_stay_on_a_deployment():
    environ = {**SHARED, "OLLAMA_BASE_URL": "http://ollama.internal:11434/v1"}
    assert by_id(resolve_endpoints({}, environ, {}))["ollama"].base_url.startswith("http://ollama")


def test_private_urls_are_never_shown():
    secrets = {"providers": {"lab": {"base_url": "http://10.1.2.3:8000/v1", "private": True},
                             "pub": {"base_url": "https://api.example.com/v1"}}}
    endpoints = by_id(resolve_endpoints(secrets, {}, {}))
    assert "10.1.2.3" not in endpoints["custom:lab"].shown_url
    assert endpoints["custom:pub"].shown_url == "https://api.example.com/v1"
    assert endpoints["builtin"].shown_url == "this machine (llama.cpp server)"


def test_the_operator_password_is_checked_exactly():
    policy = DeploymentPolicy.from_settings({"LAB_ADMIN_PASSWORD": "s3cret-pw"}, {})
    assert policy.admits_admin("s3cret-pw")
    assert not policy.admits_admin("s3cret-p")
    assert not DeploymentPolicy.from_settings({}, {}).admits_admin("")
    assert "s3cret-pw" not in repr(policy)


def test_a_key_account_records_into_the_session_and_the_ledger_from_many_threads():
    usage, ledger = SessionUsage(), InProcessLedger()
    account = KeyAccount(usage, ledger)
    threads = [threading.Thread(target=lambda: [account.record("m", Decimal("0.01")) for _ in range(100)])
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    account.record("unpriced", None)  # counted as a request, not as spend
    assert usage.requests == 801 and usage.spent_usd == Decimal("8.00")
    assert ledger.figures().requests_by_model == {"m": 800, "unpriced": 1}
