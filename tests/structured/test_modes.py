"""The three modes over real HTTP: a loopback fault server for provider limits, the
built-in model (llama.cpp, SmolLM2) for the real thing."""

import openai
import pytest

from lib.structured.builder import build_schema
from lib.structured.experiment import summarize, trials
from lib.structured.modes import MODES, Ask, Mode, run_mode
from lib.structured.schemas import LOCATION, TRIP, from_json_text
from lib.structured.support import json_schema_support
from tests.conftest import SERVED_API_KEY


@pytest.fixture
def loopback(fault_server):
    return openai.OpenAI(base_url=fault_server.base_url, api_key="sk-test", max_retries=0)


@pytest.fixture(scope="module")
def builtin(served_model):
    client = openai.OpenAI(base_url=served_model, api_key=SERVED_API_KEY, max_retries=0)
    return client, client.models.list().data[0].id


PARIS = Ask("What are the GPS coordinates for Paris?", max_tokens=100)


def test_each_mode_sends_its_response_format_and_the_body_shown_is_the_body_sent(loopback, fault_server):
    results = [run_mode(loopback, "json", mode, LOCATION, PARIS) for mode in MODES]
    sent = [r.body for r in fault_server.requests if r.method == "POST"]
    assert [r.request_body for r in results] == sent
    assert "response_format" not in sent[0]
    assert sent[1]["response_format"] == {"type": "json_object"}
    schema_format = sent[2]["response_format"]
    assert schema_format["type"] == "json_schema"  # not the slide's json_object
    assert schema_format["json_schema"]["strict"] is True
    assert schema_format["json_schema"]["schema"] == LOCATION.json_schema
    assert sent[0]["messages"] == sent[1]["messages"] == sent[2]["messages"]
    for result in results:
        assert result.schema_valid and result.check.parsed["name"] == "Paris"


def test_a_provider_that_rejects_json_schema_falls_back_to_json_mode(loopback, fault_server):
    result = run_mode(loopback, "no_json_schema", Mode.SCHEMA, LOCATION, PARIS)
    formats = [r.body.get("response_format", {}).get("type") for r in fault_server.requests]
    assert formats == ["json_schema", "json_object"]
    assert result.mode is Mode.SCHEMA and result.sent_as is Mode.JSON_MODE
    assert "refused (400)" in result.notes[0] and "JSON mode" in result.notes[0]
    assert result.error is None and result.valid_json


def test_supported_parameters_from_get_models_decide_before_sending(loopback, fault_server):
    base = fault_server.base_url
    assert json_schema_support(base, "sk-test", "json") is True
    assert json_schema_support(base, "sk-test", "no_json_schema") is False
    assert json_schema_support(base, "sk-test", "not-listed") is None
    fault_server.clear()
    result = run_mode(loopback, "no_json_schema", Mode.SCHEMA, LOCATION, PARIS,
                      schema_supported=False)
    assert [r.body["response_format"]["type"] for r in fault_server.requests] == ["json_object"]
    assert "does not list Structured Outputs" in result.notes[0]


def test_an_unreachable_provider_is_unknown_not_an_error():
    assert json_schema_support("http://127.0.0.1:9/v1", None, "x", timeout_s=0.5) is None


def test_a_refusal_shows_as_a_refusal(loopback):
    result = run_mode(loopback, "refusal", Mode.SCHEMA, LOCATION, PARIS)
    assert result.refusal.startswith("I'm sorry")
    assert result.error is None and result.check is None and result.text is None


def test_running_out_of_tokens_during_parse_explains_max_tokens_vs_schema(loopback):
    result = run_mode(loopback, "long", Mode.SCHEMA, LOCATION, Ask("Paris?", max_tokens=5))
    assert result.finish_reason == "length" and not result.valid_json
    assert "max_tokens (5)" in result.notes[0] and "Constrained decoding" in result.notes[0]
    prompt_only = run_mode(loopback, "long", Mode.PROMPT, LOCATION, Ask("Paris?", max_tokens=5))
    assert "max_tokens (5)" in prompt_only.notes[0]


def test_a_provider_fault_is_a_message_not_an_exception(loopback):
    result = run_mode(loopback, "ratelimit", Mode.JSON_MODE, LOCATION, PARIS, where="the test")
    assert result.error.status == 429 and result.check is None
    assert result.request_body["response_format"] == {"type": "json_object"}


# --- the built-in model -------------------------------------------------------------------


def test_builtin_model_answers_in_all_three_modes(builtin):
    client, model = builtin
    results = {mode: run_mode(client, model, mode, LOCATION, Ask(PARIS.question, 200, seed=7))
               for mode in MODES}
    for result in results.values():
        assert result.error is None, result.error
        assert result.completion_tokens and result.latency_s > 0
        assert result.engine_ms_per_token > 0  # llama.cpp's own timings come through
    json_mode = results[Mode.JSON_MODE]  # JSON so far; it may run out of tokens mid-object
    assert json_mode.valid_json or json_mode.finish_reason == "length", json_mode.text
    assert results[Mode.SCHEMA].schema_valid, results[Mode.SCHEMA].text


@pytest.mark.parametrize("schema", [
    LOCATION, TRIP,
    build_schema([{"name": "city", "type": "string"},
                  {"name": "mood", "type": "enum", "enum_values": "calm,busy"},
                  {"name": "sights", "type": "string", "list": True}], "CityMood"),
    from_json_text('{"title": "Weather", "type": "object", "additionalProperties": false, '
                   '"properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}, '
                   '"sky": {"type": "string", "enum": ["sunny", "cloudy", "rain"]}}, '
                   '"required": ["city", "temperature_c", "sky"]}'),
], ids=["location", "nested-trip", "built", "pasted"])
def test_constrained_output_matches_its_schema_in_every_run(builtin, schema):
    client, model = builtin
    ask = Ask(schema.question, max_tokens=400, temperature=1.0)  # varied answers, same guarantee
    done = list(trials(lambda mode: run_mode(client, model, mode, schema, ask), [Mode.SCHEMA], 3))
    for trial in done:
        assert not trial.failed
        if trial.finish_reason != "length":  # a cut-off answer is the one way out of the grammar
            assert trial.schema_valid
    assert summarize(done)[0].schema_valid_rate == sum(t.schema_valid for t in done) / 3
