"""The Structured Outputs page under AppTest: a loopback server for the provider's limits,
the built-in model for the real thing."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-structured-7e11"


def open_page(monkeypatch, fault_server=None) -> AppTest:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    if fault_server is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("OPENAI_BASE_URL", fault_server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    at = AppTest.from_file(str(ROOT / "app_pages/5_Structured_Outputs.py"), default_timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ask_all(at: AppTest, model: str | None = None) -> AppTest:
    if model:
        at.sidebar.selectbox(key="lab_model_openai").set_value(model)
    at.button(key="so_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    """Every text on the page (markdown, code, captions, alerts, JSON)."""
    parts = []
    for kind in ("markdown", "code", "caption", "info", "warning", "error", "success", "json"):
        parts += [str(element.value) for element in at.get(kind)]
    return "\n".join(parts)


@pytest.fixture
def page(fault_server, monkeypatch):
    return open_page(monkeypatch, fault_server)


def test_the_page_corrects_the_slide_and_starts_with_the_lectures_location(page):
    text = shown(page)
    assert '{"type": "json_object", ...}' in text and '"type": "json_schema"' in text
    assert page.radio(key="so_schema_choice").value.startswith("Location")
    assert page.text_input(key="so_question_Location").value == "What are the GPS coordinates for Paris?"


def test_three_modes_side_by_side_with_raw_text_parsed_object_and_request(page, fault_server):
    at = ask_all(page, "json")
    assert [s.value for s in at.subheader] == ["Prompt only", "JSON mode", "Structured Outputs"]
    assert len(at.success) == 3
    assert '"latitude":48.8566' in at.code[-1].value or any('48.8566' in c.value for c in at.code)
    formats = [r.body.get("response_format") for r in fault_server.requests if r.method == "POST"]
    assert formats[0] is None and formats[1] == {"type": "json_object"}
    assert formats[2]["type"] == "json_schema"
    assert CANARY not in shown(at)


def test_a_model_without_json_schema_is_explained_and_falls_back(page, fault_server):
    at = ask_all(page, "no_json_schema")
    assert "does not support Structured Outputs" in at.info[0].value
    assert any("does not list Structured Outputs" in w.value for w in at.warning)
    posted = [r.body for r in fault_server.requests if r.method == "POST"]
    assert "json_schema" not in [(b.get("response_format") or {}).get("type") for b in posted]


def test_a_refusal_shows_as_a_refusal(page):
    at = ask_all(page, "refusal")
    assert sum("**Refusal**" in i.value for i in at.info) == 3


def test_a_provider_fault_is_a_message_and_the_page_goes_on(page):
    at = ask_all(page, "ratelimit")
    assert len(at.error) == 3 and all("Rate limited (429)" in e.value for e in at.error)
    at = ask_all(at, "json")
    assert len(at.success) == 3


def test_bad_schemas_get_a_clear_message_and_keep_what_was_typed(page):
    at = page
    at.radio(key="so_schema_choice").set_value("Paste a JSON Schema").run()
    at.text_area(key="so_pasted").set_value('{"type": "object", "properties": ').run()
    assert "not valid JSON" in at.error[0].value
    assert at.text_area(key="so_pasted").value == '{"type": "object", "properties": '
    assert "so_ask" not in [b.key for b in at.button]  # nothing to ask with until it is fixed
    at.radio(key="so_schema_choice").set_value("Build your own").run()
    at.text_input(key="so_builder_title").set_value("9lives").run()
    assert "schema name '9lives'" in at.error[0].value


def test_the_nested_trip_schema_is_shown_and_asked_for(page, fault_server):
    at = page
    at.radio(key="so_schema_choice").set_value("Trip itinerary (nested)").run()
    assert "class TripItinerary" in shown(at)
    at = ask_all(at, "json")  # the loopback answers a Location: JSON, but not this schema
    assert len(at.warning) >= 3 and "days: Field required" in shown(at)
    sent = fault_server.requests[-1].body["response_format"]["json_schema"]
    assert sent["name"] == "TripItinerary" and "Activity" in sent["schema"]["$defs"]


def test_the_experiment_estimates_runs_and_charts(page, fault_server):
    at = page
    at.sidebar.selectbox(key="lab_model_openai").set_value("json")
    at.number_input(key="so_runs").set_value(3).run()
    assert "Up to 9 requests" in shown(at)
    at.button(key="so_start").click().run()
    assert not at.exception
    assert len([r for r in fault_server.requests if r.method == "POST"]) == 9
    table = at.table[0].value
    assert list(table["runs"]) == [3, 3, 3] and list(table["matches schema"]) == ["100%"] * 3
    assert len(at.get("plotly_chart")) == 3


def test_the_builtin_model_in_all_three_modes(monkeypatch):
    at = open_page(monkeypatch)
    assert at.sidebar.selectbox(key="lab_provider").value == "builtin"
    at = ask_all(at)
    assert [s.value for s in at.subheader] == ["Prompt only", "JSON mode", "Structured Outputs"]
    results = at.session_state["so_ask_run"].results
    assert [r.error for r in results] == [None, None, None]
    assert results[2].schema_valid, results[2].text  # the grammar holds
    assert "Valid JSON that matches the schema" in shown(at)


def test_the_experiment_stops_at_the_deployments_request_cap(fault_server, monkeypatch):
    monkeypatch.setenv("LAB_MAX_REQUESTS_PER_SESSION", "4")
    at = open_page(monkeypatch, fault_server)
    at.sidebar.selectbox(key="lab_model_openai").set_value("json")
    at.number_input(key="so_runs").set_value(3).run()
    at.button(key="so_start").click().run()
    assert len([r for r in fault_server.requests if r.method == "POST"]) == 4
    assert any(w.value.startswith("Stopped:") for w in at.warning)
    assert "Stopped after 4 of 9 requests" in shown(at)


def test_three_modes_at_the_cap_minus_one_send_one_request(fault_server, monkeypatch):
    """Every request is admitted on its own: one click is three requests, not one."""
    monkeypatch.setenv("LAB_MAX_REQUESTS_PER_SESSION", "1")
    at = ask_all(open_page(monkeypatch, fault_server), "json")
    assert len([r for r in fault_server.requests if r.method == "POST"]) == 1
    assert at.session_state["lab_usage"].requests == 1
    assert len(at.success) == 1
    assert any(w.value.startswith("Not sent:") and "used its 1 requests" in w.value
               for w in at.warning)


def test_answered_requests_count_against_the_cap_refused_ones_do_not(fault_server, monkeypatch):
    monkeypatch.setenv("LAB_MAX_REQUESTS_PER_SESSION", "5")
    at = open_page(monkeypatch, fault_server)
    at = ask_all(at, "ratelimit")  # refused by the provider: not counted
    assert at.session_state["lab_usage"].requests == 0
    at = ask_all(at, "json")
    assert at.session_state["lab_usage"].requests == 3


def test_watch_the_mask_needs_the_builtin_model(page):
    assert "Watching the mask needs the built-in model" in shown(page)


def test_watch_the_mask_on_the_builtin_model(monkeypatch):
    at = open_page(monkeypatch)
    at.button(key="so_mask_start").click().run()
    assert not at.exception and not at.error
    assert at.code[-1].value == "{"
    assert "Step 1:" in shown(at) and "the grammar allows **2** of" in shown(at)
    at.button(key="so_mask_ten").click().run()
    assert at.code[-1].value.startswith('{\n  "name"')
    table = at.dataframe[0].value
    assert set(table["grammar"]) <= {"allowed", "🚫 masked out"}
    picked = list(table["picked"]).index("⬅ picked")  # exactly one row, and it is allowed
    assert list(table["picked"]).count("⬅ picked") == 1 and table["grammar"][picked] == "allowed"
    at.button(key="so_mask_end").click().run()
    assert "matches the schema ✅" in at.success[-1].value
    assert at.button(key="so_mask_next").disabled
    [steps] = [e.label for e in at.expander if "masked out" in e.label]
    masked = int(re.search(r"masked out (\d+) times", steps).group(1))
    assert masked >= 1  # the grammar overruled the model's favourite on the way
