"""A shared deployment under AppTest: typed URLs contained, budget held by the process, caps
counting only the shared key, private URLs and keys never on screen."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.chat.history import to_api_messages
from lib.deployment import most_it_can_cost, prompt_tokens_of
from lib.ledger import PROCESS_LEDGER
from tests.servers.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
CHAT = str(ROOT / "app_pages/4_Streaming_Chat.py")
SHARED_KEY = "sk-or-shared-deployment-0042"
PRIVATE_KEY = "sk-private-endpoint-0099"


def clean_env(monkeypatch, **settings) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def chat_page() -> AppTest:
    at = AppTest.from_file(CHAT, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def send(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def everything_shown(at: AppTest) -> str:
    return repr(at._tree)


def test_a_typed_url_is_refused_on_a_deployment_with_keys(fault_server, monkeypatch):
    clean_env(monkeypatch, OPENROUTER_API_KEY=SHARED_KEY)
    at = chat_page()
    at.sidebar.selectbox(key="lab_provider").set_value("openai").run()
    assert not [t for t in at.sidebar.text_input if t.label == "Base URL"]  # not offered
    # A crafted session state (the widget's key, set by hand) changes nothing either.
    at.session_state["lab_url_input_openai"] = fault_server.base_url
    at.session_state["lab_key_input_openai"] = "sk-visitors-own-key-77"
    at.run()
    send(at, "Hello")
    assert fault_server.requests == []  # not even GET /models reached it
    assert "localhost" not in " ".join(at.sidebar.selectbox(key="lab_provider").options)


def test_typed_urls_when_the_operator_allows_them_never_carry_the_shared_key(fault_server, monkeypatch):
    clean_env(monkeypatch, OPENROUTER_API_KEY=SHARED_KEY, LAB_ALLOW_CUSTOM_URLS="1")
    at = chat_page()
    at.sidebar.selectbox(key="lab_provider").set_value("openai").run()
    at.sidebar.text_input(key="lab_url_input_openai").set_value(fault_server.base_url).run()
    at.sidebar.selectbox(key="lab_model_openai").set_value("ok").run()
    send(at, "Hello")
    assert at.session_state["chat_history"][-1]["content"] == "Hello from the fault server."
    assert all(SHARED_KEY not in str(r.headers) for r in fault_server.requests)


def spent() -> Decimal:
    return PROCESS_LEDGER.get({}, os.environ).spent_usd()  # the process's own ledger


def test_the_total_budget_survives_a_new_session(fault_server, monkeypatch):
    """Room on the budget for exactly the first request's worst case: it goes through, and a
    new session (a reload) finds that room used, not a fresh budget."""
    clean_env(monkeypatch, OPENAI_BASE_URL=fault_server.base_url, OPENAI_API_KEY="sk-shared-1")
    first = chat_page()
    first.sidebar.selectbox(key="lab_model_openai").set_value("gpt-4o-mini").run()
    system = next(t.value for t in first.sidebar.text_area if t.label == "System prompt text")
    max_tokens = next(n.value for n in first.sidebar.number_input if n.label == "max_tokens")
    asked = to_api_messages([{"role": "user", "content": "Hello"}], system)
    worst = most_it_can_cost("gpt-4o-mini", prompt_tokens_of(asked), max_tokens)
    monkeypatch.setenv("LAB_MAX_SPEND_USD_TOTAL", str(spent() + worst))
    send(first, "Hello")
    assert first.session_state["chat_history"][-1]["content"] == "Hello from the fault server."
    again = chat_page()  # a reload: a brand-new session with nothing spent of its own
    again.sidebar.selectbox(key="lab_model_openai").set_value("gpt-4o-mini")
    send(again, "Hello")
    assert "can't cover this request" in again.warning[0].value
    chats = [r for r in fault_server.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1


def test_the_request_cap_ignores_builtin_and_own_key_requests(fault_server, monkeypatch):
    clean_env(monkeypatch, OPENAI_BASE_URL=fault_server.base_url, OPENAI_API_KEY="sk-shared-2",
              LAB_MAX_REQUESTS_PER_SESSION="1")
    at = chat_page()
    at.sidebar.selectbox(key="lab_provider").set_value("builtin").run()
    send(at, "Hi built-in")
    send(at, "Hi again built-in")
    at.sidebar.selectbox(key="lab_provider").set_value("openrouter").run()
    at.sidebar.text_input(key="lab_key_input_openrouter").set_value("sk-or-own-key-55").run()
    send(at, "On my own key")  # no network here: it fails, but it is the student's own key
    at.sidebar.selectbox(key="lab_provider").set_value("openai").run()
    at.sidebar.selectbox(key="lab_model_openai").set_value("ok").run()
    send(at, "On the shared key")
    assert not at.warning, [w.value for w in at.warning]
    assert at.session_state["chat_history"][-1]["content"] == "Hello from the fault server."
    send(at, "Once more on the shared key")
    assert "used its 1 requests" in at.warning[0].value


def test_private_urls_and_keys_stay_off_home_and_out_of_errors(fault_server, monkeypatch):
    clean_env(monkeypatch)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    secrets = {"providers": {
        "lab": {"base_url": fault_server.base_url, "api_key": PRIVATE_KEY, "private": True,
                "models": ["auth"]},
        "down": {"base_url": dead, "private": True, "models": ["ok"]},
    }}
    home = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    home.secrets["providers"] = secrets["providers"]
    home.run()
    assert not home.exception
    shown = everything_shown(home) + home.dataframe[0].value.to_csv()
    assert fault_server.base_url not in shown and dead not in shown
    assert PRIVATE_KEY not in shown and "private (set by the operator)" in shown

    for provider, url in (("custom:lab", fault_server.base_url), ("custom:down", dead)):
        port = url.split(":")[2].split("/")[0]
        at = AppTest.from_file(CHAT, default_timeout=60)
        at.secrets["providers"] = secrets["providers"]
        at.run()
        at.sidebar.selectbox(key="lab_provider").set_value(provider).run()
        send(at, "Hello")
        assert at.error, "the failure is shown"
        shown = everything_shown(at)
        assert PRIVATE_KEY not in shown
        assert f":{port}" not in shown  # no address, in any element
        assert f"{port}" not in str(at.error[0].value)
        inspected = json.dumps(at.session_state["lab_inspector"].history())
        assert PRIVATE_KEY not in inspected and f":{port}" not in inspected


def test_the_operator_view_needs_the_password_and_shows_the_ledger(fault_server, monkeypatch):
    clean_env(monkeypatch, OPENAI_BASE_URL=fault_server.base_url, OPENAI_API_KEY="sk-shared-3",
              LAB_ADMIN_PASSWORD="op-pass-123", LAB_MAX_SPEND_USD_TOTAL="25")
    chat = chat_page()
    chat.sidebar.selectbox(key="lab_model_openai").set_value("gpt-4o-mini")
    send(chat, "Hello")
    home = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not [m for m in home.metric if m.label.startswith("Spent")]  # nothing before the password
    home.text_input(key="lab_operator_pw").set_value("wrong").run()
    assert "not the operator password" in home.error[0].value
    home.text_input(key="lab_operator_pw").set_value("op-pass-123").run()
    metrics = {m.label: m.value for m in home.metric}
    assert metrics["Spent on the deployment's keys"] == f"${spent():.4f}"
    assert spent() > 0
    assert metrics["Budget"] == "$25"
    assert int(metrics["Active sessions (last 10 min)"]) >= 1
    table = home.dataframe[-1].value
    assert PROCESS_LEDGER.get({}, os.environ).figures().requests_by_model["gpt-4o-mini"] == int(
        table.set_index("Model").loc["gpt-4o-mini", "Requests"])


def test_no_operator_view_without_a_password(monkeypatch):
    clean_env(monkeypatch)
    home = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not [t for t in home.text_input if t.key == "lab_operator_pw"]


def test_secrets_as_top_level_values_and_as_tables_both_work(fault_server, monkeypatch):
    """Cloud copies top-level secrets into the environment too: both places agree, and
    [providers.NAME] tables come from secrets alone."""
    clean_env(monkeypatch, OPENROUTER_API_KEY="sk-or-top-level-01", LAB_MAX_REQUESTS_PER_SESSION="1")
    at = AppTest.from_file(CHAT, default_timeout=60)
    at.secrets["OPENROUTER_API_KEY"] = "sk-or-top-level-01"
    at.secrets["LAB_MAX_REQUESTS_PER_SESSION"] = 1
    at.secrets["providers"] = {"classroom": {"base_url": fault_server.base_url,
                                             "api_key": "sk-table-key-02", "models": ["ok"]}}
    at.run()
    provider = at.sidebar.selectbox(key="lab_provider")
    assert provider.value == "openrouter" and "key from secrets" in provider.format_func("openrouter")
    provider.set_value("custom:classroom").run()
    at.sidebar.selectbox(key="lab_model_custom:classroom").set_value("ok").run()
    send(at, "Hello")
    assert at.session_state["chat_history"][-1]["content"] == "Hello from the fault server."
    assert fault_server.requests[-1].headers["authorization"] == "Bearer sk-table-key-02"
    send(at, "Again")
    assert "used its 1 requests" in at.warning[0].value  # a table's key is the deployment's too
