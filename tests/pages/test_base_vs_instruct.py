"""The base vs instruct page under AppTest: the real shipped models offline, a real
llama.cpp server as "any provider", and the fault server for a provider without completions."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import SERVED_API_KEY

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app_pages/2_Base_vs_Instruct.py")
PARIS = "What should I do on my upcoming trip to Paris?"
CANARY = "sk-canary-bvi-0ddba11"


def open_page(monkeypatch, **environ) -> AppTest:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def generate(at: AppTest) -> AppTest:
    at.button(key="bvi_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


@pytest.fixture
def offline_page(monkeypatch):
    return open_page(monkeypatch)


def test_offline_pair_answers_in_both_panes_and_says_they_are_different_families(offline_page):
    at = offline_page
    assert at.sidebar.selectbox(key="bvi_provider").value == "builtin"
    assert any("different families" in i.value for i in at.info)
    at = generate(at)
    shown = codes(at)
    base = next(c for c in shown if c.startswith("Mary had a little"))
    assert len(base) > len("Mary had a little")  # it continued the text
    reads = next(c for c in shown if c.startswith("<|im_start|>"))
    # (st.code drops the final newline of the display; tests/base_vs_instruct checks the text)
    assert reads.endswith("<|im_start|>user\nMary had a little<|im_end|>\n<|im_start|>assistant")
    assert "POST /v1/completions" in captions(at) and "POST /v1/chat/completions" in captions(at)
    speeds = [c for c in captions(at) if c.startswith("First token")]
    assert len(speeds) == 2
    assert not at.error


def test_the_lectures_prompts_are_one_click_away_with_their_token_budgets(offline_page):
    at = offline_page
    at.button(key="bvi_lecture_Trip to Paris").click().run()
    assert at.text_area(key="bvi_prompt").value == PARIS
    assert at.sidebar.slider(key="bvi_max_new_tokens").value == 75
    at.button(key="bvi_lecture_Mary had a little").click().run()
    assert at.text_area(key="bvi_prompt").value == "Mary had a little"
    assert at.sidebar.slider(key="bvi_max_new_tokens").value == 50


def test_a_wrong_familys_template_is_shown_and_sent_on_completions(offline_page):
    at = offline_page
    at.sidebar.slider(key="bvi_max_new_tokens").set_value(10)
    at.radio(key="bvi_format").set_value("wrong")
    at = generate(at)
    reads = next(c for c in codes(at) if c.startswith("<start_of_turn>"))
    assert reads.strip() == "<start_of_turn>user\nMary had a little<end_of_turn>\n<start_of_turn>model"
    assert captions(at).count("POST /v1/completions") == 2  # both panes now on completions
    code = next(c for c in codes(at) if "AutoModelForCausalLM" in c)
    assert "apply_chat_template(" not in code.split("# The instruct model")[1]


def test_next_token_view_follows_the_knobs_without_generating_again(offline_page):
    at = offline_page
    at.sidebar.slider(key="bvi_max_new_tokens").set_value(6)
    at = generate(at)
    assert len(at.dataframe) == 2
    notes = [c for c in captions(at) if "likeliest tokens hold" in c]
    assert len(notes) == 2 and all("top_k=20" in n for n in notes)
    before = [c for c in codes(at) if c.startswith("Mary had a little")]
    at.sidebar.toggle(key="bvi_do_sample").set_value(False).run()
    notes = [c for c in captions(at) if "likeliest tokens hold" in c]
    assert all("Greedy" in n for n in notes)
    assert [c for c in codes(at) if c.startswith("Mary had a little")] == before  # same run


def test_an_empty_prompt_is_refused_and_nothing_is_sent(offline_page):
    at = offline_page
    at.text_area(key="bvi_prompt").set_value("   ")
    at = generate(at)
    assert "Type a prompt first" in at.warning[0].value


def test_any_pair_on_a_real_server_base_on_completions_instruct_on_chat(monkeypatch,
                                                                        served_model):
    at = open_page(monkeypatch, OPENAI_BASE_URL=served_model, OPENAI_API_KEY=SERVED_API_KEY)
    at.sidebar.selectbox(key="bvi_provider").set_value("openai").run()
    at.sidebar.text_input(key="bvi_base_model_openai").set_value("SmolLM2-135M-Instruct")
    at.sidebar.text_input(key="bvi_instruct_model_openai").set_value("SmolLM2-135M-Instruct")
    at.sidebar.slider(key="bvi_max_new_tokens").set_value(12)
    at = generate(at)
    assert not at.error, [e.value for e in at.error]
    base = next(c for c in codes(at) if c.startswith("Mary had a little"))
    assert len(base) > len("Mary had a little")
    assert any("applies the model's chat template on its side" in c for c in captions(at))
    assert SERVED_API_KEY not in repr(at._tree)


def test_a_provider_without_completions_fails_the_base_pane_only(monkeypatch, fault_server):
    at = open_page(monkeypatch, OPENAI_BASE_URL=fault_server.base_url, OPENAI_API_KEY=CANARY)
    at.sidebar.selectbox(key="bvi_provider").set_value("openai").run()
    at.sidebar.text_input(key="bvi_instruct_model_openai").set_value("ok")
    at = generate(at)
    assert len(at.error) == 1 and "Not found (404)" in at.error[0].value
    assert "Hello from the fault server." in codes(at)
    assert CANARY not in repr(at._tree)
    # OpenAI rejects arguments it does not know: top_k is left out, and the sidebar says so
    assert all("top_k" not in r.body for r in fault_server.requests if r.path.endswith("completions"))
    assert any("top_k is not sent to OpenAI" in c.value for c in at.sidebar.caption)


def _hosted_pair_on(fault_server, monkeypatch, cap: int) -> AppTest:
    at = open_page(monkeypatch, OPENAI_BASE_URL=fault_server.base_url, OPENAI_API_KEY=CANARY,
                   LAB_MAX_REQUESTS_PER_SESSION=str(cap))
    at.sidebar.selectbox(key="bvi_provider").set_value("openai").run()
    at.sidebar.text_input(key="bvi_base_model_openai").set_value("ok")
    at.sidebar.text_input(key="bvi_instruct_model_openai").set_value("ok")
    return at


def sent_to_models(fault_server) -> int:
    return len([r for r in fault_server.requests if r.path.endswith("completions")])


def test_answered_requests_count_against_a_deployments_request_cap(monkeypatch, fault_server):
    # The fault server answers chat but not /completions (404, a refusal: not counted), so one
    # click uses one request of the cap.
    at = generate(_hosted_pair_on(fault_server, monkeypatch, cap=2))
    assert not at.warning
    assert sent_to_models(fault_server) == 2
    # One request of two used: a click needs two, so it is refused and nothing is sent.
    at = generate(at)
    assert "used its 2 requests" in at.warning[0].value
    assert sent_to_models(fault_server) == 2


def test_a_click_at_cap_minus_one_does_not_send_two_requests(monkeypatch, fault_server):
    at = generate(_hosted_pair_on(fault_server, monkeypatch, cap=1))
    assert "used its 1 requests" in at.warning[0].value
    assert sent_to_models(fault_server) == 0
