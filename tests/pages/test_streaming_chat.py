"""The streaming-chat page under AppTest, against the fault server on 127.0.0.1."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.chat.history import to_api_messages
from lib.models.engine import stop_local_servers
from tests.servers.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-page-51c0ffee9d"


def open_chat_page(fault_server, monkeypatch, **settings) -> AppTest:
    """The chat page configured (by environment) for the fault server, plus `settings`."""
    monkeypatch.setenv("OPENAI_BASE_URL", fault_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(ROOT / "app_pages/4_Streaming_Chat.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def chat_page(fault_server, monkeypatch):
    return open_chat_page(fault_server, monkeypatch)


def send(at: AppTest, model: str, text: str, endpoint_id: str = "openai") -> AppTest:
    at.sidebar.selectbox(key=f"lab_model_{endpoint_id}").set_value(model)
    at.chat_input[0].set_value(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def everything_shown(at: AppTest) -> str:
    return repr(at._tree)


def test_defaults_to_the_configured_server_and_lists_its_models(chat_page):
    assert chat_page.sidebar.selectbox(key="lab_provider").value == "openai"
    assert "ok" in chat_page.sidebar.selectbox(key="lab_model_openai").options


def test_a_streamed_answer_lands_in_history_with_metrics(chat_page):
    at = send(chat_page, "ok", "Hello")
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert "Hello from the fault server." in at.chat_message[1].markdown[0].value
    labels = [m.label for m in at.metric]
    assert "Time to first token" in labels and "Completion tokens" in labels
    assert at.session_state["chat_history"][-1]["content"] == "Hello from the fault server."


def test_a_cut_stream_keeps_the_partial_answer_and_says_why(chat_page):
    at = send(chat_page, "cut", "Tell me")
    assert at.error[0].value.startswith("The stream was cut off.")
    assert "partial answer above is kept" in at.error[0].value
    assert at.session_state["chat_history"][-1]["content"] == "The answer is "
    at = send(at, "ok", "Again")  # the conversation goes on, the partial answer stays
    assert [m.name for m in at.chat_message] == ["user", "assistant"] * 2
    assert at.chat_message[1].markdown[0].value.strip() == "The answer is"
    sent = at.session_state["chat_history"]
    assert sent[1]["error"].startswith("The stream was cut off.")


def test_wrong_key_message_never_shows_the_key(chat_page):
    at = send(chat_page, "auth", "Hi")
    assert "rejected (401)" in at.error[0].value
    assert CANARY not in everything_shown(at)
    at.run()  # the inspector and history render the exchange again
    assert CANARY not in everything_shown(at)


def test_the_whole_history_is_resent_each_turn(chat_page, fault_server):
    at = send(chat_page, "ok", "First question")
    send(at, "ok", "Second question")
    messages = fault_server.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[-1]["content"] == "Second question"


def test_cost_of_a_keyed_request_is_shown(chat_page):
    at = send(chat_page, "ok", "Hello")
    cost = next(m for m in at.metric if m.label == "Cost")
    assert cost.value == "—"  # the fault server's "ok" model has no known price


def test_classroom_spend_cap_refuses_models_without_a_price(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch, LAB_MAX_SPEND_USD_PER_SESSION="0.50")
    at = send(at, "ok", "Hello")
    assert "no price is known for 'ok'" in at.warning[0].value
    assert fault_server.requests == [] or all(r.path.endswith("/models") for r in fault_server.requests)


def test_classroom_request_cap_stops_the_shared_key(fault_server, monkeypatch):
    at = open_chat_page(fault_server, monkeypatch, LAB_MAX_REQUESTS_PER_SESSION="1")
    at = send(at, "ok", "First")
    assert not at.warning
    at = send(at, "ok", "Second")
    assert "used its 1 requests" in at.warning[0].value
    chats = [r for r in fault_server.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1
    at.sidebar.selectbox(key="lab_provider").set_value("builtin").run()
    at = send(at, "SmolLM2-135M-Instruct", "Third", endpoint_id="builtin")
    # The refused message is shown with its reason, but never sent: roles still alternate.
    sent = at.session_state["chat_history"]
    assert sent[2]["unsent"] and "used its 1 requests" in sent[2]["error"]
    assert [m["role"] for m in to_api_messages(sent)] == ["user", "assistant", "user", "assistant"]


def test_sampling_sliders_set_what_is_sent(chat_page, fault_server):
    chat_page.sidebar.slider[0].set_value(0.2)  # temperature
    chat_page.sidebar.number_input[0].set_value(33)  # max_tokens
    send(chat_page, "ok", "Hello")
    body = fault_server.requests[-1].body
    assert body["temperature"] == 0.2 and body["max_tokens"] == 33
    for absent in ("seed", "stop", "presence_penalty", "frequency_penalty"):
        assert absent not in body  # unset: the provider's defaults apply


def test_seed_stop_and_penalties_are_sent_with_their_meaning_beside_them(chat_page, fault_server):
    sidebar = chat_page.sidebar
    next(n for n in sidebar.number_input if n.label == "seed").set_value(42)
    next(t for t in sidebar.text_area if t.label.startswith("stop")).set_value("END\n\n###")
    next(s for s in sidebar.slider if s.label == "presence_penalty").set_value(0.5)
    next(s for s in sidebar.slider if s.label == "frequency_penalty").set_value(-0.3)
    send(chat_page, "ok", "Hello")
    body = fault_server.requests[-1].body
    assert (body["seed"], body["stop"]) == (42, ["END", "###"])
    assert body["presence_penalty"] == 0.5 and body["frequency_penalty"] == -0.3
    helps = {s.label: s.help for s in sidebar.slider}
    assert "less likely" in helps["presence_penalty"]


def test_keys_and_endpoints_from_streamlit_secrets(fault_server, monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(ROOT / "app_pages/4_Streaming_Chat.py"), default_timeout=60)
    at.secrets["providers"] = {"classroom": {"base_url": fault_server.base_url,
                                             "api_key": CANARY, "models": ["ok"]}}
    at.secrets["OPENROUTER_API_KEY"] = "sk-or-from-secrets-0001"
    at.run()
    provider = at.sidebar.selectbox(key="lab_provider")
    assert provider.value == "openrouter"  # the default: OpenRouter is configured
    assert "key from secrets" in provider.format_func(provider.value)
    provider.set_value("custom:classroom").run()
    at = send(at, "ok", "Hello", endpoint_id="custom:classroom")
    assert "Hello from the fault server." in at.chat_message[1].markdown[0].value
    assert fault_server.requests[-1].headers["authorization"] == f"Bearer {CANARY}"


def test_a_key_typed_in_the_sidebar_is_used_for_that_session(fault_server, monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(ROOT / "app_pages/4_Streaming_Chat.py"), default_timeout=60).run()
    at.sidebar.selectbox(key="lab_provider").set_value("openrouter").run()
    assert "needs an API key" in at.sidebar.selectbox(key="lab_provider").format_func("openrouter")
    at.sidebar.text_input(key="lab_url_input_openrouter").set_value(fault_server.base_url).run()
    at.sidebar.text_input(key="lab_key_input_openrouter").set_value("sk-or-typed-123456").run()
    assert "your key" in at.sidebar.selectbox(key="lab_provider").format_func("openrouter")
    at = send(at, "ok", "Hi", endpoint_id="openrouter")
    assert "Hello from the fault server." in at.chat_message[1].markdown[0].value
    sent = fault_server.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-or-typed-123456"
    assert sent.headers["x-title"] == "Hosted LLM Lab"


def test_a_bad_engine_setting_is_a_message_not_a_traceback(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAB_LOCAL_THREADS", "two")
    stop_local_servers()  # the setting is read when the server starts
    at = AppTest.from_file(str(ROOT / "app_pages/4_Streaming_Chat.py"), default_timeout=60).run()
    assert not at.exception
    assert "LAB_LOCAL_THREADS='two' is not a whole number" in at.error[0].value
    at.chat_input[0].set_value("Hello").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert history == [{"role": "user", "content": "Hello", "unsent": True,
                        "error": history[0]["error"]}]
    assert "built-in model is not available" in history[0]["error"]


def test_max_tokens_is_bounded_by_the_builtin_models_window(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(ROOT / "app_pages/4_Streaming_Chat.py"), default_timeout=60).run()
    from lib.models.engine import local_server

    window = local_server().context_per_slot
    max_tokens = next(n for n in at.sidebar.number_input if n.label == "max_tokens")
    assert max_tokens.max == window - 256
    assert f"{window:,} tokens" in max_tokens.help


def test_a_system_prompt_preset_fills_the_box_and_is_sent_first(chat_page, fault_server):
    chat_page.sidebar.selectbox(key="chat_system_preset").set_value("Python tutor").run()
    text = chat_page.sidebar.text_area(key="chat_system").value
    assert text.startswith("You are a Python programming tutor")
    chat_page.sidebar.text_area(key="chat_system").set_value(text + " Answer in French.").run()
    send(chat_page, "ok", "What is a list?")
    sent = fault_server.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": text + " Answer in French."}
    assert "set boundaries" in " ".join(c.value for c in chat_page.sidebar.caption)


def test_with_streaming_off_the_answer_comes_whole_from_a_plain_request(chat_page, fault_server):
    chat_page.sidebar.toggle(key="chat_streaming").set_value(False).run()
    at = send(chat_page, "ok", "Hello")
    body = fault_server.requests[-1].body
    assert "stream" not in body and "stream_options" not in body
    assert at.session_state["chat_history"][-1]["content"] == "Hello from the fault server."
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Finish reason"] == "stop"
    assert at.session_state["lab_inspector"].latest()["response"]["json"]["object"] == "chat.completion"


def test_view_code_shows_the_last_request_in_python_without_the_key(chat_page, fault_server):
    at = send(chat_page, "ok", "Hello")
    snippet = next(c.value for c in at.code if "chat.completions.create" in c.value)
    assert 'os.environ["OPENAI_API_KEY"]' in snippet and CANARY not in snippet
    assert fault_server.base_url in snippet and '"Hello"' in snippet
    assert "Hello from the fault server." not in snippet  # the request, not its answer
    assert "if chunk.choices:" in snippet


def chats(fault_server):
    return [r for r in fault_server.requests if r.path.endswith("/chat/completions")]


def test_regenerate_asks_the_same_question_again_and_replaces_the_answer(chat_page, fault_server):
    at = send(chat_page, "ok", "First question")
    at = send(at, "ok", "Second question")
    at.button(key="chat_regenerate").click().run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert [m["content"] for m in history] == [
        "First question", "Hello from the fault server.",
        "Second question", "Hello from the fault server."]
    sent = chats(fault_server)
    assert len(sent) == 3 and sent[-1].body["messages"] == sent[-2].body["messages"]


def test_editing_a_message_resends_from_there(chat_page, fault_server):
    at = send(chat_page, "ok", "First question")
    at = send(at, "ok", "Second question")
    at.selectbox(key="chat_edit_pick").set_value(0).run()
    at.text_area(key="chat_edit_0").set_value("A better first question").run()
    at.button(key="chat_resend").click().run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert [m["content"] for m in history] == ["A better first question",
                                               "Hello from the fault server."]
    last = chats(fault_server)[-1].body["messages"]
    assert [m["content"] for m in last if m["role"] != "system"] == ["A better first question"]


def test_free_models_are_marked_in_the_model_list(fault_server, monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(ROOT / "app_pages/4_Streaming_Chat.py"), default_timeout=60)
    at.secrets["providers"] = {"router": {"base_url": f"http://127.0.0.1:{free_port()}/v1",
                                          "models": ["meta-llama/llama-3.3-70b-instruct:free",
                                                     "openai/gpt-5.2-chat"]}}
    at.run()
    at.sidebar.selectbox(key="lab_provider").set_value("custom:router").run()
    model = at.sidebar.selectbox(key="lab_model_custom:router")
    shown = [model.format_func(o) for o in model.options]
    assert "meta-llama/llama-3.3-70b-instruct:free  · free" in shown
    assert "openai/gpt-5.2-chat" in shown
    assert any(":free" in c.value for c in at.sidebar.caption)


def test_a_reasoning_model_gets_max_completion_tokens_and_the_sidebar_says_why(chat_page, fault_server):
    at = send(chat_page, "o4-mini", "Think, then say hello.")
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["chat_history"][-1]["content"] == "Hello from the fault server."
    sent = fault_server.requests[-1].body
    assert "max_completion_tokens" in sent and "max_tokens" not in sent and "temperature" not in sent
    assert any("max_completion_tokens" in c.value for c in at.sidebar.caption)
