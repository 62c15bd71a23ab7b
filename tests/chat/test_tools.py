"""Tools (function calling): the round trip against the built-in model's real engine
(`python -m lib.serve`) and the fault server's tool-calling scenarios. The app sends tools
requests whole (not streamed), so the streamed form of those scenarios is not tested here."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import openai
import pytest

from lib.chat.errors import describe_error
from lib.chat.providers import ChatProvider
from lib.chat.sampling import SamplingOptions
from lib.chat.tool_functions import (MAX_TEXT, TOOLS, ConvertCurrency, GetWeather, Tool,
                                     get_weather)
from lib.chat.tools import (GRAMMAR, MAX_CALLS, TOOLS as TOOLS_WAY, call_schema, round_trip,
                            run_call)
from lib.chat.streaming import estimate_tokens
from lib.config import Endpoint
from lib.cost.pricing import usage_cost
from lib.inspector import Inspector
from lib.what_is_saved import CODEC
from tests.conftest import SERVED_API_KEY
from tests.servers.fault_server import NO_TOOLS_MESSAGE, TOOL_ANSWER

SMOLLM2 = "SmolLM2-135M-Instruct"
WEATHER = [TOOLS["get_weather"]]
OPTIONS = SamplingOptions(temperature=0.7, max_tokens=200)


def provider_at(base_url: str, api_key: str, endpoint_id: str = "openai") -> ChatProvider:
    return ChatProvider(Endpoint(id=endpoint_id, label="test server", kind="openai",
                                 base_url=base_url, api_key=api_key), Inspector())


def ask(provider: ChatProvider, model: str, question: str = "What's the weather in Paris?",
        tools=WEATHER, **kwargs):
    return round_trip(provider, model, question, "", tools, kwargs.pop("options", OPTIONS),
                      on_error=lambda exc: str(describe_error(exc, provider.where)), **kwargs)


class Ledger:
    """A real account-shaped recorder (what lib.ledger.accounts.KeyAccount is called with)."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, Decimal | None]] = []
        self.released: list[str] = []

    def record(self, model: str, cost: Decimal | None) -> None:
        self.recorded.append((model, cost))

    def release(self, model: str) -> None:
        self.released.append(model)


@pytest.fixture(scope="module")
def engine(served_model) -> ChatProvider:
    provider = provider_at(served_model, SERVED_API_KEY, endpoint_id="llamacpp")
    yield provider
    provider.close()


# --- the built-in model's engine -------------------------------------------------------------


def test_the_engine_ignores_tools_and_answers_in_text(engine):
    """The finding the grammar way is built on: SmolLM2 on llama.cpp never calls a tool."""
    for tool_choice in ("auto", "required"):
        found = ask(engine, SMOLLM2, way=TOOLS_WAY, tool_choice=tool_choice,
                    options=SamplingOptions(temperature=0.0, max_tokens=30))
        assert found.error is None and not found.calls and found.second is None
        assert "without calling a tool" in found.notice
        assert found.first["request"]["json"]["tools"][0]["function"]["name"] == "get_weather"
        assert found.answer  # plain text instead


def test_the_grammar_way_always_gets_a_valid_call_and_the_answer(engine):
    found = ask(engine, SMOLLM2, way=GRAMMAR)
    assert found.error is None, found.error
    request = found.first["request"]["json"]
    assert "tools" not in request
    assert request["response_format"]["json_schema"]["schema"] == call_schema(WEATHER)
    assert "get_weather" in request["messages"][0]["content"]  # the functions, in the prompt
    [run] = found.calls
    assert run.name == "get_weather" and run.error is None
    assert set(run.parsed) == {"city"} and isinstance(run.parsed["city"], str)
    assert json.loads(run.message["content"]) == run.result
    assert run.message["tool_call_id"] == run.id
    sent_back = found.second["request"]["json"]["messages"]
    assert [m["role"] for m in sent_back][-3:] == ["user", "assistant", "tool"]
    assert sent_back[-2]["content"] == found.assistant["content"]  # what the model wrote
    assert "response_format" not in found.second["request"]["json"]
    assert found.second["response"]["status"] == 200 and found.answer is not None


def test_the_grammar_picks_among_several_functions(engine):
    found = ask(engine, SMOLLM2, "How much is 150 euros in US dollars?",
                tools=list(TOOLS.values()), way=GRAMMAR)
    assert found.error is None
    [run] = found.calls
    assert run.name in TOOLS  # the grammar allows only the names offered
    assert run.error is None or run.error.startswith("The arguments don't validate")


# --- a hosted model with function calling (the fault server) ---------------------------------


def test_a_tool_call_is_run_and_its_result_goes_back(fault_server):
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    found = ask(provider, "tools")
    assert found.error is None and found.notice is None
    first, second = [r.body for r in fault_server.requests if r.method == "POST"]
    assert first["tools"] == [TOOLS["get_weather"].definition()]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert first["tool_choice"] == "auto"
    [run] = found.calls
    assert run.id == "call_fault_0" and run.parsed == {"city": "Paris"}
    assert run.result["sky"] == "light rain"
    assert second["messages"][-2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_fault_0", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert second["messages"][-1] == run.message == {
        "role": "tool", "tool_call_id": "call_fault_0", "content": json.dumps(run.result)}
    assert found.answer == TOOL_ANSWER.format(run.message["content"])


def test_several_calls_in_one_answer_each_get_a_tool_message(fault_server):
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    found = ask(provider, "tools", tools=list(TOOLS.values()), tool_choice="required")
    assert [run.name for run in found.calls] == list(TOOLS)
    assert found.calls[1].result["result"] == round(100 * 1.0 / 1.08, 2)  # 100 USD in EUR
    sent = fault_server.requests[-1].body["messages"]
    assert [m.get("tool_call_id") for m in sent if m["role"] == "tool"] == [
        "call_fault_0", "call_fault_1", "call_fault_2"]
    assert fault_server.requests[-2].body["tool_choice"] == "required"
    assert "tool_choice" not in fault_server.requests[-1].body  # else it would call again


def test_arguments_that_do_not_validate_are_said_and_sent_back_as_the_result(fault_server):
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    found = ask(provider, "tools_bad")
    [run] = found.calls
    assert run.parsed is None and run.result is None
    assert run.error == "The arguments don't validate: city: Field required"
    assert json.loads(fault_server.requests[-1].body["messages"][-1]["content"]) == {"error": run.error}
    assert found.answer is not None and "Field required" in found.answer


def test_a_validator_the_schema_does_not_show_still_runs():
    run = run_call(list(TOOLS.values()), "c1", "convert_currency",
                   '{"amount": -5, "from_currency": "EUR", "to_currency": "USD"}')
    assert run.error == "The arguments don't validate: amount: Value error, the amount must be more than 0"
    assert "minimum" not in json.dumps(ConvertCurrency.model_json_schema())
    unknown = run_call(WEATHER, "c2", "delete_everything", "{}")
    assert "not one of the functions offered" in unknown.error


def test_at_most_max_calls_of_one_answer_are_run_and_the_rest_said(fault_server):
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    many = [Tool(f"get_weather_{k}", GetWeather, get_weather) for k in range(MAX_CALLS + 2)]
    found = ask(provider, "tools", tools=many)  # the fault server calls every tool offered
    assert len(found.assistant["tool_calls"]) == MAX_CALLS + 2  # what came back, as it came
    assert [run.name for run in found.calls] == [tool.name for tool in many[:MAX_CALLS]]
    assert f"asked for {MAX_CALLS + 2} calls" in found.notice
    assert "the other 2 were not run" in found.notice
    sent = fault_server.requests[-1].body["messages"]
    assert len(sent[-MAX_CALLS - 1]["tool_calls"]) == MAX_CALLS  # each call sent has its result
    assert [m["role"] for m in sent[-MAX_CALLS:]] == ["tool"] * MAX_CALLS


def test_a_text_field_of_any_length_is_refused_not_echoed():
    run = run_call(WEATHER, "c1", "get_weather", json.dumps({"city": "x" * 2_000_000}))
    assert run.error == ("The arguments don't validate: city: String should have at most "
                         f"{MAX_TEXT} characters")
    assert run.result is None and len(run.message["content"]) < 200
    assert run_call(WEATHER, "c2", "get_weather", json.dumps({"city": "P" * MAX_TEXT})).error is None
    # Checked here, not shown: OpenAI's strict function calling refuses maxLength.
    assert "maxLength" not in json.dumps([tool.definition() for tool in TOOLS.values()])
    assert "maxLength" not in json.dumps(call_schema(list(TOOLS.values())))


@pytest.mark.parametrize("arguments", [
    '{"amount": NaN, "from_currency": "EUR", "to_currency": "USD"}',
    '{"amount": Infinity, "from_currency": "EUR", "to_currency": "USD"}',
])
def test_nan_and_infinity_do_not_validate(arguments):
    run = run_call(list(TOOLS.values()), "c1", "convert_currency", arguments)
    assert run.error == "The arguments don't validate: amount: Input should be a finite number"
    json.loads(run.message["content"], parse_constant=pytest.fail)  # strict JSON


def test_a_result_that_is_not_strict_json_goes_back_as_an_error():
    """1e308 miles is a finite number, but not in feet: the result is inf, which no JSON has."""
    run = run_call(list(TOOLS.values()), "c1", "convert_units",
                   '{"value": 1e308, "from_unit": "mi", "to_unit": "ft"}')
    assert run.parsed is not None and run.result is None
    assert run.error.startswith("The function's result can't be sent back as JSON")
    assert json.loads(run.message["content"], parse_constant=pytest.fail) == {"error": run.error}


def test_a_text_answer_is_said_and_nothing_more_is_sent(fault_server):
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    found = ask(provider, "ok")
    assert found.answer == "Hello from the fault server." and not found.calls
    assert "without calling a tool" in found.notice
    assert len([r for r in fault_server.requests if r.method == "POST"]) == 1


def test_a_server_that_rejects_tools_says_so_and_suggests_the_grammar(fault_server):
    ledger = Ledger()
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    found = ask(provider, "no_tools", account=ledger)
    assert found.tools_rejected and found.assistant is None
    assert NO_TOOLS_MESSAGE in found.error and "grammar way" in found.error
    assert ledger.recorded == ledger.released == []  # the user's own key: nothing to count


def test_requests_on_a_deployment_key_are_admitted_recorded_and_released(fault_server):
    endpoint = Endpoint(id="openai", label="fault", kind="openai", base_url=fault_server.base_url,
                        api_key="sk-deploy", key_source="environment")
    provider = ChatProvider(endpoint, Inspector())
    ledger, asked = Ledger(), []
    found = ask(provider, "gpt-4o-mini", account=ledger,  # priced: it behaves like ok
                admit=lambda messages, max_tokens: asked.append(messages) or None)
    assert found.answer and len(asked) == 1 and ledger.recorded[0][0] == "gpt-4o-mini"
    assert ledger.recorded[0][1] > 0
    ask(provider, "no_tools", account=ledger)
    assert ledger.released == ["no_tools"] and len(ledger.recorded) == 1
    refused = ask(provider, "tools", account=ledger, admit=lambda *_: "Out of requests.")
    assert refused.error == "Out of requests." and refused.first is None
    assert len(ledger.recorded) == 1 and ledger.released == ["no_tools"]
    both = ask(provider, "tools", account=ledger)
    assert both.answer and len(ledger.recorded) == 3  # the call and the answer


def deployment_provider(fault_server, timeout_s: float = 120.0) -> ChatProvider:
    endpoint = Endpoint(id="openai", label="fault", kind="openai", base_url=fault_server.base_url,
                        api_key="sk-deploy", key_source="environment")
    return ChatProvider(endpoint, Inspector(), timeout_s=timeout_s)


def test_a_request_sent_then_timed_out_is_billed_on_estimated_usage(fault_server):
    """Given up on while the provider worked on it: billed, like a stopped chat answer, on
    the prompt's estimate (what was sent, tool definitions included) and no completion."""
    provider, ledger = deployment_provider(fault_server, timeout_s=0.3), Ledger()
    found = ask(provider, "gpt-4.1-mini", account=ledger)  # priced; "late": 1 s to answer
    assert found.error and "timed out" in found.error.lower() and found.assistant is None
    assert ledger.released == []
    [(model, cost)] = ledger.recorded
    sent = fault_server.requests[-1].body
    prompt = estimate_tokens(json.dumps([*sent["messages"], *sent["tools"]], ensure_ascii=False))
    assert model == "gpt-4.1-mini" and cost == usage_cost(model, prompt, 0) and cost > 0
    provider.close()


def test_a_timeout_before_anything_was_sent_is_released(fault_server):
    provider, ledger = deployment_provider(fault_server), Ledger()

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out connecting", request=request)

    provider.client = openai.OpenAI(  # the provider's client, its connection never made
        base_url=fault_server.base_url, api_key="sk-deploy", max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(unreachable),
                                 event_hooks=provider.inspector.event_hooks()))
    found = ask(provider, "gpt-4.1-mini", account=ledger)
    assert found.error and ledger.recorded == [] and ledger.released == ["gpt-4.1-mini"]


def test_the_reservation_is_sized_from_the_tools_or_the_schema_sent_too(fault_server):
    """admit is given what the prompt is made of: the messages, then the tool definitions
    (or the grammar's response_format), not the messages alone."""
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    asked: list[list] = []
    found = ask(provider, "tools", tools=list(TOOLS.values()),
                admit=lambda sent, max_tokens: asked.append(sent) or None)
    assert found.answer
    first, second = [r.body for r in fault_server.requests if r.method == "POST"]
    assert asked == [[*first["messages"], *first["tools"]], [*second["messages"], *second["tools"]]]
    assert len(first["tools"]) == 3
    fault_server.clear()
    asked.clear()
    ask(provider, "json", way=GRAMMAR, admit=lambda sent, max_tokens: asked.append(sent) or None)
    [only] = [r.body for r in fault_server.requests if r.method == "POST"]
    assert asked == [[*only["messages"], only["response_format"]]]


def test_a_reasoning_model_gets_max_completion_tokens(fault_server):
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    found = ask(provider, "o4-mini")
    assert found.error is None, found.error
    assert "max_completion_tokens" in fault_server.requests[-1].body


def test_the_exchange_is_saved_and_comes_back_exactly(fault_server):
    provider = provider_at(fault_server.base_url, "sk-test-tools")
    found = ask(provider, "tools", tools=list(TOOLS.values()))
    assert CODEC.loads(CODEC.dumps(found)) == found
