"""The chat page's lesson views under AppTest: context strategies, Compare, Anatomy, and the
wire panel — against the fault server and the built-in model on 127.0.0.1."""

from __future__ import annotations

import json

from tests.pages.test_streaming_chat import CANARY, everything_shown, open_chat_page, send

COMPARE = "⚖️ Compare models"
ANATOMY = "🔬 Anatomy of a response"


def chat_requests(fault_server):
    return [r for r in fault_server.requests if r.path.endswith("/chat/completions")]


def send_four_ways(at) -> None:
    """Open the Anatomy view and send its question (whole, stream, /completions, /responses)."""
    at.session_state["chat_view"] = ANATOMY
    at.run()
    at.button(key="anatomy_send").click().run()


def load_forgetting_demo(at):
    at.sidebar.button(key="chat_forgetting_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_forgetting_demo_sends_turn_eight_without_the_name(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.sidebar.selectbox(key="lab_model_openai").set_value("ok").run()
    at = load_forgetting_demo(at)
    sent = chat_requests(fault_server)[-1].body["messages"]
    assert sent[-1]["content"] == "By the way, what's my name?"
    assert "Amelia" not in str(sent) and [m["role"] for m in sent][:2] == ["system", "user"]
    shown = " ".join(c.value for c in at.caption)
    assert "No longer sent" in shown  # turn 1 is marked on screen
    assert "older message(s) are no longer sent" in shown
    # The same conversation with everything kept does carry the name.
    at.sidebar.selectbox(key="chat_context_strategy").set_value("keep_all").run()
    at.session_state["chat_history"] = at.session_state["chat_history"][:-1]
    at.run()
    assert "Amelia" in str(chat_requests(fault_server)[-1].body["messages"])


def test_each_answer_says_what_its_turn_sent_and_the_prompt_grows(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at = send(at, "ok", "First question")
    at = send(at, "ok", "Second question")
    captions = [c.value for c in at.caption if c.value.startswith("This turn sent")]
    assert len(captions) == 2
    first, second = (int(c.split("sent ")[1].split(" prompt")[0].replace(",", "")) for c in captions)
    assert second > first  # the whole conversation went again
    total = next(c.value for c in at.caption if c.value.startswith("🔁"))
    assert f"2 answers so far were sent {first + second:,} prompt tokens" in total
    gauge = str(at.get("progress")[0].proto.text)  # the window the server's listing gives
    assert "of this model's 8,192-token window (estimated with OpenAI's o200k" in gauge


def test_the_built_in_models_gauge_counts_against_its_window(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.sidebar.selectbox(key="lab_provider").set_value("builtin").run()
    next(n for n in at.sidebar.number_input if n.label == "max_tokens").set_value(24)
    at = send(at, "SmolLM2-135M-Instruct", "Hi, my name is Amelia.", endpoint_id="builtin")
    gauge = str(at.get("progress")[0].proto.text)
    assert "of this model's 4,096-token window" in gauge
    assert "counted by the model's own template" in gauge


def test_compare_streams_two_panes_and_shows_each_ones_figures(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.session_state["chat_view"] = COMPARE
    at.run()
    at.selectbox(key="compare_provider_1").set_value("openai").run()
    at.selectbox(key="compare_model_0_openai").set_value("slow")
    at.selectbox(key="compare_model_1_openai").set_value("ok")
    at.button(key="compare_send").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [m.value for m in at.markdown]
    assert any(v.startswith("**slow**") and "one word at a time" in v for v in shown)
    assert any(v.startswith("**ok**") and "Hello from the fault server." in v for v in shown)
    figures = [c.value for c in at.caption if "first token" in c.value]
    assert len(figures) == 2 and all("tok/s" in f for f in figures)
    assert len(chat_requests(fault_server)) == 2


def test_compare_a_failing_pane_says_why_and_the_other_answers(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.session_state["chat_view"] = COMPARE
    at.run()
    at.selectbox(key="compare_provider_1").set_value("openai").run()
    at.selectbox(key="compare_model_0_openai").set_value("auth")
    at.selectbox(key="compare_model_1_openai").set_value("ok")
    at.button(key="compare_send").click().run()
    assert "rejected (401)" in at.error[0].value
    assert CANARY not in everything_shown(at)
    assert any("Hello from the fault server." in m.value for m in at.markdown)


def test_anatomy_explains_a_reasoning_models_usage(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.sidebar.selectbox(key="lab_model_openai").set_value("reasoning").run()
    send_four_ways(at)
    assert not at.exception, [e.value for e in at.exception]
    table = next(m.value for m in at.markdown if m.value.startswith("**Field by field**"))
    assert "`usage.completion_tokens_details.reasoning_tokens` = `1408`" in table
    assert "`choices.0.finish_reason`" in table and "max_tokens reached" in table
    assert any("text/event-stream" in m.value for m in at.markdown)
    assert any("404" in e.value for e in at.error)  # no /completions on this server
    assert CANARY not in everything_shown(at)


def test_view_code_sends_what_the_sliding_window_sent(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.sidebar.selectbox(key="lab_model_openai").set_value("ok").run()
    at = load_forgetting_demo(at)
    snippet = next(c.value for c in at.code if "chat.completions.create" in c.value)
    sent = chat_requests(fault_server)[-1].body["messages"]
    assert "Amelia" not in snippet and "what's my name?" in snippet
    listed = snippet.split("messages = [\n", 1)[1].split("\n]\n", 1)[0]
    assert listed.count('{"role": ') == len(sent)
    for message in sent:
        assert json.dumps(message["content"], ensure_ascii=False) in listed


def test_compare_panes_count_against_the_session_cap_one_by_one(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch, LAB_MAX_REQUESTS_PER_SESSION="1")
    at.session_state["chat_view"] = COMPARE
    at.run()
    at.selectbox(key="compare_provider_1").set_value("openai").run()
    at.selectbox(key="compare_model_0_openai").set_value("ok")
    at.selectbox(key="compare_model_1_openai").set_value("slow")
    at.button(key="compare_send").click().run()
    assert len(chat_requests(fault_server)) == 1  # the second pane was over the cap
    assert "used its 1 requests" in at.warning[0].value
    at.run()  # drawn again from the stored results: each under its own pane
    assert [r["pane"] for r in at.session_state["compare_results"]] == [0]
    assert any("Hello from the fault server." in m.value for m in at.columns[0].markdown)


def test_anatomy_requests_count_against_the_session_cap(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch, LAB_MAX_REQUESTS_PER_SESSION="2")
    at.sidebar.selectbox(key="lab_model_openai").set_value("ok").run()
    send_four_ways(at)
    posts = [r for r in fault_server.requests if r.method == "POST"]
    assert len(posts) == 2  # the whole answer and the stream; /completions was refused
    assert any("used its 2 requests" in e.value for e in at.error)


def test_anatomy_asks_the_built_in_model_through_the_responses_api_too(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.sidebar.selectbox(key="lab_provider").set_value("builtin").run()
    send_four_ways(at)
    assert not at.exception, [e.value for e in at.exception]
    tables = [m.value for m in at.markdown if m.value.startswith("**Field by field**")]
    assert len(tables) == 2  # the Chat Completions answer, then the Responses API's
    assert "`output.0.content.0.text`" in tables[1] and "`usage.output_tokens`" in tables[1]
    assert "`choices.0.message.content`" in tables[0]
    assert any("**`POST /responses`**" in m.value for m in at.markdown)
    assert not at.error
