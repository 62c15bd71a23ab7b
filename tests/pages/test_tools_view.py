"""The chat page's Tools view under AppTest against the fault server: what a student sees
when the server rejects tools, when arguments don't validate, when the model answers in
text, and when the session's cap stops the second request."""

from __future__ import annotations

from tests.pages.test_streaming_chat import open_chat_page

TOOLS_VIEW = "🛠️ Tools"


def send_with_tools(at, model: str):
    at.sidebar.selectbox(key="lab_model_openai").set_value(model).run()
    at.session_state["chat_view"] = TOOLS_VIEW
    at.run()
    at.button(key="tools_send").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def posts(fault_server):
    return [r.body for r in fault_server.requests if r.method == "POST"]


def test_a_server_that_rejects_tools_says_so_and_points_to_the_grammar(fault_server, monkeypatch):
    at = send_with_tools(open_chat_page(fault_server, monkeypatch), "no_tools")
    [error] = [e.value for e in at.error]
    assert "'tools' is not supported with this model" in error
    assert "Try the grammar way" in error
    assert not at.success and len(posts(fault_server)) == 1


def test_arguments_that_do_not_validate_are_shown_not_a_traceback(fault_server, monkeypatch):
    at = send_with_tools(open_chat_page(fault_server, monkeypatch), "tools_bad")
    assert [e.value for e in at.error] == ["The arguments don't validate: city: Field required"]
    assert "Field required" in at.success[0].value  # the model was told, and said so
    assert len(posts(fault_server)) == 2


def test_a_text_answer_is_said_and_no_second_request_goes(fault_server, monkeypatch):
    at = send_with_tools(open_chat_page(fault_server, monkeypatch), "ok")
    assert any("without calling a tool" in w.value for w in at.warning)
    assert any("Hello from the fault server." in m.value for m in at.markdown)
    assert len(posts(fault_server)) == 1


def test_the_grammar_way_on_a_hosted_model_sends_no_tools(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch)
    at.session_state["chat_view"] = TOOLS_VIEW
    at.run()
    at.radio(key="tools_way_openai").set_value("grammar").run()
    send_with_tools(at, "json")  # replies with JSON that is not a call: said, not a crash
    [request] = posts(fault_server)
    assert "tools" not in request and request["response_format"]["type"] == "json_schema"
    assert any("The reply is not a call" in e.value for e in at.error)


def test_the_session_cap_stops_the_second_request(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch, LAB_MAX_REQUESTS_PER_SESSION="1")
    send_with_tools(at, "tools")
    assert len(posts(fault_server)) == 1  # the call came back; the result was never sent
    assert any("used its 1 requests" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.success


def test_calls_beyond_the_cap_are_said_on_the_page_not_run(fault_server, monkeypatch):
    monkeypatch.setattr("lib.chat.tools.MAX_CALLS", 2)
    at = open_chat_page(fault_server, monkeypatch)
    at.session_state["chat_view"] = TOOLS_VIEW
    at.run()
    at.multiselect(key="tools_picked").set_value(["get_weather", "convert_currency",
                                                  "convert_units"]).run()
    send_with_tools(at, "tools")  # the fault server calls each of the three
    assert any("asked for 3 calls" in w.value and "the other 1 was not run" in w.value
               for w in at.warning), [w.value for w in at.warning]
    tool_messages = [m for m in posts(fault_server)[-1]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 2 and at.success  # the two run went back; the answer came
