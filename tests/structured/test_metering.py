"""The deployment's caps on the Structured Outputs requests, without Streamlit: every request
admitted (the JSON-mode fallback too), each one recorded by the chat page's rule. Real HTTP
to the loopback fault server, the deployment's real policy and accounts."""

import threading
from decimal import Decimal

import openai
import pytest

from lib.config import Endpoint
from lib.deployment import DeploymentPolicy, SessionUsage
from lib.ledger.accounts import KeyAccount
from lib.ledger.core import InProcessLedger
from lib.structured.metering import RequestMeter, request_cost
from lib.structured.modes import Ask, Mode, ModeResult, run_mode
from lib.structured.runs import AskRun, ask_each
from lib.structured.schemas import LOCATION

PARIS = Ask("What are the GPS coordinates for Paris?", max_tokens=100)
CAP = 3


@pytest.fixture
def deployment(fault_server):
    """A deployment key with a request cap, one session already at cap − 1."""
    endpoint = Endpoint(id="openai", label="Fault server", kind="openai_compatible",
                        base_url=fault_server.base_url, api_key="sk-deployment",
                        key_source="environment")
    policy = DeploymentPolicy(max_requests_per_session=CAP)
    usage = SessionUsage(requests=CAP - 1)
    account = KeyAccount(usage, InProcessLedger())
    return endpoint, policy, usage, account


def meter_for(deployment, model: str, admitted: list[int] | None = None) -> RequestMeter:
    endpoint, policy, usage, account = deployment

    def admit(pending: int) -> str | None:
        if admitted is not None:
            admitted.append(pending)
        return policy.refusal(endpoint, model, usage, Decimal(0), True, pending)

    return RequestMeter(model, admit, account, endpoint.bills_usage)


def client(fault_server, timeout_s: float = 30.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=fault_server.base_url, api_key="sk-deployment",
                         max_retries=0, timeout=timeout_s)


def posts(fault_server) -> list:
    return [r for r in fault_server.requests if r.method == "POST"]


def test_three_modes_at_cap_minus_one_send_one_request_and_refuse_the_rest(deployment, fault_server):
    meter = meter_for(deployment, "json")
    run = ask_each(AskRun(), (Mode.PROMPT, Mode.JSON_MODE, Mode.SCHEMA),
                   lambda mode: run_mode(client(fault_server), "json", mode, LOCATION, PARIS,
                                         meter=meter), threading.Lock())
    assert len(posts(fault_server)) == 1
    assert [r.refused is None for r in run.results] == [True, False]  # stops at the refusal
    assert "used its 3 requests" in run.results[1].refused
    assert deployment[2].requests == CAP


def test_the_json_mode_fallback_is_a_request_of_its_own_admitted_and_recorded(deployment, fault_server):
    admitted: list[int] = []
    meter = meter_for(deployment, "no_json_schema", admitted)
    result = run_mode(client(fault_server), "no_json_schema", Mode.SCHEMA, LOCATION, PARIS,
                      meter=meter)  # support unknown: the 400 tells
    formats = [(r.body.get("response_format") or {}).get("type") for r in posts(fault_server)]
    assert formats == ["json_schema", "json_object"]
    assert admitted == [0, 0]  # both asked; the 400 was settled (not billed) before the fallback
    assert result.sent_as is Mode.JSON_MODE and result.valid_json and result.refused is None
    assert deployment[2].requests == CAP  # the refused 400 is not counted, the fallback is
    again = run_mode(client(fault_server), "no_json_schema", Mode.SCHEMA, LOCATION, PARIS,
                     meter=meter)
    assert "used its 3 requests" in again.refused and len(posts(fault_server)) == 2


def test_a_fallback_the_cap_refuses_is_not_sent_and_says_why(deployment, fault_server):
    endpoint, policy, usage, account = deployment
    answers = iter([None, "This session has used its requests."])
    meter = RequestMeter("no_json_schema", lambda pending: next(answers), account, True)
    result = run_mode(client(fault_server), "no_json_schema", Mode.SCHEMA, LOCATION, PARIS,
                      meter=meter)
    assert len(posts(fault_server)) == 1
    assert result.refused == "This session has used its requests."
    assert "It was not sent again in JSON mode" in result.notes[0]


def test_a_timeout_after_sending_is_recorded_a_refusal_is_not(deployment, fault_server):
    usage = deployment[2]
    meter = meter_for(deployment, "late")
    late = run_mode(client(fault_server, timeout_s=0.2), "late", Mode.PROMPT, LOCATION, PARIS,
                    meter=meter)
    assert late.error is not None and late.billable
    assert usage.requests == CAP  # sent, then given up on: billable
    usage.requests = CAP - 1
    refused = run_mode(client(fault_server), "ratelimit", Mode.PROMPT, LOCATION, PARIS,
                       meter=meter_for(deployment, "ratelimit"))
    assert "429" in str(refused.error) and not refused.billable
    assert usage.requests == CAP - 1


def test_missing_usage_is_estimated_not_free():
    sent = ModeResult(Mode.PROMPT, Mode.PROMPT, text='{"name": "Paris", "country": "France"}',
                      billable=True, request_body={"messages": [
                          {"role": "user", "content": "What are the GPS coordinates for Paris?"}]})
    cost = request_cost("gpt-4o-mini", sent, bills_usage=True)
    assert cost is not None and cost > 0 and sent.usage_is_estimate
    refused = ModeResult(Mode.PROMPT, Mode.PROMPT, billable=False)
    assert request_cost("gpt-4o-mini", refused, bills_usage=True) == 0
    assert request_cost("gpt-4o-mini", sent, bills_usage=False) == 0
