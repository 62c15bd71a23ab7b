"""Every key a page puts in the session is either saved for the browser (and comes back
exactly) or deliberately not: a new widget key fails here until somebody decides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.lessons import LESSONS
from lib.what_is_saved import CODEC, SAVED_KEYS

ROOT = Path(__file__).resolve().parents[2]

# Not saved, and why. A pattern matches the whole key.
NOT_SAVED = {
    r"lab_key_input_.*|lab_url_input_.*": "typed keys and URLs stay in the tab (the issue: never stored)",
    r"lab_saved_session|lab_session_key|lab_cookie_script": "classroom mode's own bookkeeping",
    r"lab_inspector|lab_providers": "the wire panel's raw exchange and the live clients",
    r"lab_share|lab_forget|lab_operator_pw": "buttons; the operator's password",
    r"chat_(stop|regenerate|resend|forgetting_demo|import|import_error|active_turn|token_counts|edit_.*)":
        "buttons, the upload, a running answer, counts recomputed on demand",
    r"compare_(send|stop|active)|anatomy_send|tools_send": "buttons and a running comparison",
    r"bvi_(generate|lecture_.*|step|text_.*)": "buttons; the step slider's range depends on the run",
    r"tpl_(add|preset|role|content|up|down|delete)_.*": "the editor's buttons and per-row widgets "
                                                       "(tpl_rows holds the rows)",
    r"so_(ask|start|stop|mask_.*|request_lock|builder_rows|builder_start)":
        "buttons, the mask stepper (live grammar state), a lock; the data editor's edits "
        "(so_builder_table holds its rows)",
    r"FormSubmitter:.*|clear_custom|chat_model": "form and buttons; 'Priced as' holds price objects",
}


def not_saved(key: str) -> bool:
    return any(re.fullmatch(pattern, key) for pattern in NOT_SAVED)


SLIDERS: list[tuple[str, str, float, float]] = []  # (page, key, min, max) of saved sliders


@pytest.fixture(scope="module")
def every_page_visited(tmp_path_factory) -> list[tuple[str, dict]]:
    """Each page run once through the app (Home.py), with its session state afterwards."""
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=180).run()
    seen = [("home", at.session_state.to_dict())]
    for lesson in LESSONS:
        at.switch_page(lesson.path).run()
        assert not at.exception, (lesson.slug, [e.value for e in at.exception])
        seen.append((lesson.slug, dict(at.session_state.to_dict())))
        SLIDERS.extend((lesson.slug, s.key, s.min, s.max) for s in [*at.slider, *at.sidebar.slider]
                       if s.key and SAVED_KEYS.find(s.key))
    return seen


def test_a_saved_slider_takes_back_only_what_it_can_show(every_page_visited):
    """Streamlit raises on a slider value out of its range: a stored or shared value the
    slider can't show must be refused before it gets there (a link with turns=201 once
    broke the cost page on every reload)."""
    assert len({key for _, key, _, _ in SLIDERS}) >= 8, SLIDERS
    for page, key, low, high in SLIDERS:
        restore = SAVED_KEYS.find(key).restore
        assert restore(low) == low and restore(high) == high, (page, key)
        for outside in (low - 1, high + 1, "7", None, [low]):
            with pytest.raises(ValueError):
                restore(outside)


def test_every_key_is_either_saved_or_deliberately_not(every_page_visited):
    unknown = {(page, key) for page, state in every_page_visited for key in state
               if SAVED_KEYS.find(key) is None and not not_saved(key)}
    assert not unknown, f"decide for each: save it (lib/what_is_saved.py) or not: {sorted(unknown)}"


def test_nothing_secret_is_saved():
    for key in ("lab_key_input_openai", "lab_key_input_openrouter", "lab_url_input_openai",
                "lab_operator_pw", "lab_inspector", "lab_session_key", "lab_cookie_script"):
        assert SAVED_KEYS.find(key) is None, key


def test_what_each_page_puts_in_comes_back_exactly(every_page_visited):
    """The pages' own defaults pass their checks: otherwise a reload would silently lose them."""
    checked = 0
    for page, state in every_page_visited:
        for key, value in state.items():
            spec = SAVED_KEYS.find(key)
            if spec is None:
                continue
            saved = spec.save(value)
            back = spec.restore(CODEC.loads(CODEC.dumps(saved)))
            if key == "tpl_rows":  # rows come back with fresh uids
                assert [(r["role"], r["content"]) for r in back] == [(r["role"], r["content"]) for r in value]
            else:
                assert back == value, (page, key)
            checked += 1
    assert checked >= 60


def test_shared_keys_are_only_settings_and_prompts():
    shared = SAVED_KEYS.shared_on("streaming_chat")
    assert shared("chat_system") and shared("lab_temperature") and shared("compare_prompt")
    assert not shared("chat_history") and not shared("lab_usage") and not shared("lab_projector")
    assert not shared("bvi_prompt")  # another page's: not in this page's link
    assert SAVED_KEYS.shared_on("base_vs_instruct")("bvi_prompt")
