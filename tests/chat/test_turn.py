"""One answer's lifecycle (lib/chat/turn.py) against the scripted fault server: stop from
another thread, settle once, charge only what a provider accepted."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from lib.chat.providers import make_provider
from lib.chat.sampling import SamplingOptions
from lib.chat.turn import ChatTurn
from lib.config import resolve_endpoints
from lib.deployment import SessionUsage
from lib.ledger.accounts import KeyAccount
from lib.ledger.core import InProcessLedger
from lib.inspector import Inspector
from tests.servers.processes import free_port

PRICED_MODEL = "gpt-4o"  # priced by genai-prices; the fault server's scenarios are not


def provider_for(base_url: str, key_from: str = "environment"):
    environ = {"OPENAI_BASE_URL": base_url}
    typed = {}
    if key_from == "environment":
        environ["OPENAI_API_KEY"] = "sk-deployment-key-1234"
    else:
        typed["openai.api_key"] = "sk-students-own-key-5678"
    endpoint = next(e for e in resolve_endpoints({}, environ, typed) if e.id == "openai")
    return make_provider(endpoint, Inspector())


class Recorded(KeyAccount):
    """A real KeyAccount (own session usage and ledger) that also lists what it recorded."""

    def __init__(self, spent: list[Decimal]) -> None:
        super().__init__(SessionUsage(), InProcessLedger())
        self.spent = spent

    def record(self, model, cost):
        super().record(model, cost)
        self.spent.append(cost)


def priced_turn(provider, scenario: str, spent: list[Decimal]) -> ChatTurn:
    """A turn asking the fault server for `scenario`, priced as PRICED_MODEL; every request
    recorded on the deployment's key is appended to `spent` (its cost)."""
    history = [{"role": "user", "content": "Hello"}]
    stream = provider.stream_chat(history, scenario, SamplingOptions())
    reply = {"role": "assistant", "content": ""}
    history.append(reply)
    return ChatTurn(provider, PRICED_MODEL, stream, reply, account=Recorded(spent))


def test_stop_from_another_thread_keeps_the_partial_answer_and_counts_once(fault_server):
    fault_server.slow_delay = 0.3
    spent: list[Decimal] = []
    turn = priced_turn(provider_for(fault_server.base_url), "slow", spent)
    first_delta = threading.Event()
    reader_failed: list[BaseException] = []

    def read() -> None:  # the script run that streams to the screen
        try:
            for _ in turn.stream:
                first_delta.set()
        except BaseException as exc:  # noqa: BLE001 - any escape is the failure under test
            reader_failed.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    assert first_delta.wait(10)
    settlers = [threading.Thread(target=turn.settle) for _ in range(3)]  # Stop, and reruns
    for settler in settlers:
        settler.start()
    for settler in settlers:
        settler.join(10)
    reader.join(10)
    assert not reader.is_alive() and reader_failed == []
    assert turn.reply["content"].startswith("Streaming")
    assert turn.reply["content"] != "Streaming one word at a time from the fault server."
    assert turn.reply["error"].startswith("Stopped.")
    assert len(spent) == 1 and spent[0] > 0  # a stopped stream was still billed, once
    assert turn.settle() == spent[0]
    assert turn.account.session.requests == 1


def test_stop_while_the_request_waits_for_its_answer_is_still_charged(fault_server):
    """The request went out; the provider bills its prompt even if Stop came first."""
    fault_server.slow_delay = 0.05  # "late" answers after 1 s
    spent: list[Decimal] = []
    turn = priced_turn(provider_for(fault_server.base_url), "late", spent)
    reader = threading.Thread(target=lambda: list(turn.stream))
    reader.start()
    deadline = time.monotonic() + 10
    while not fault_server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fault_server.requests, "the request was sent"
    cost = turn.settle()
    reader.join(10)
    assert not reader.is_alive()
    assert cost > 0 and spent == [cost]
    assert turn.reply["content"] == "" and turn.reply["error"].startswith("Stopped.")


def test_stop_before_anything_was_sent_costs_nothing(fault_server):
    spent: list[Decimal] = []
    turn = priced_turn(provider_for(fault_server.base_url), "ok", spent)
    assert turn.settle() == Decimal(0) and spent == []
    assert list(turn.stream) == [] and fault_server.requests == []


@pytest.mark.parametrize("scenario", ["auth", "ratelimit", "server_error"])
def test_a_refused_call_is_not_charged(fault_server, scenario):
    spent: list[Decimal] = []
    turn = priced_turn(provider_for(fault_server.base_url), scenario, spent)
    assert list(turn.stream) == []
    assert turn.settle() == Decimal(0)
    assert spent == [] and turn.reply["error"]


def test_a_server_that_is_down_is_not_charged():
    spent: list[Decimal] = []
    turn = priced_turn(provider_for(f"http://127.0.0.1:{free_port()}/v1"), "ok", spent)
    assert list(turn.stream) == []
    assert turn.settle() == Decimal(0) and spent == []
    assert "Could not reach the server." in turn.reply["error"]


def test_a_complete_answer_on_the_deployments_key_is_charged(fault_server):
    spent: list[Decimal] = []
    turn = priced_turn(provider_for(fault_server.base_url), "ok", spent)
    assert "".join(turn.stream) == "Hello from the fault server."
    cost = turn.settle()
    assert cost > 0 and spent == [cost]


def test_a_students_own_key_is_never_counted_against_the_deployment(fault_server):
    spent: list[Decimal] = []
    turn = priced_turn(provider_for(fault_server.base_url, key_from="sidebar"), "ok", spent)
    list(turn.stream)
    assert turn.settle() > 0  # it still cost the student something
    assert spent == []


def test_after_a_failed_empty_answer_roles_still_alternate(fault_server):
    provider = provider_for(fault_server.base_url)
    history: list[dict] = []
    history.append({"role": "user", "content": "First question"})
    failed = ChatTurn.start(provider, "auth", SamplingOptions(), history, "Be brief.")
    list(failed.stream)
    failed.settle()
    history.append({"role": "user", "content": "Second question"})
    turn = ChatTurn.start(provider, "ok", SamplingOptions(), history, "Be brief.")
    list(turn.stream)
    turn.settle()
    sent = fault_server.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[-1]["content"] == "Second question"
    assert [m.get("content") for m in history] == [
        "First question", "", "Second question", "Hello from the fault server."]
