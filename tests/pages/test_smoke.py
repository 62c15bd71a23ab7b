"""Every page renders under AppTest with no secrets and no network, without an exception."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.lessons import LESSONS

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_VARS = ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL")


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch):
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_lists_every_lesson_and_the_providers():
    at = run_page("Home.py")
    assert at.title[0].value == "🧪 Hosted LLM Lab"
    text = " ".join(m.value for m in at.markdown)
    for lesson in LESSONS:
        assert lesson.summary in text
    providers = at.dataframe[0].value
    assert list(providers["Provider"])[:2] == ["OpenRouter", "OpenAI"]
    builtin = providers[providers["Provider"].str.startswith("Built-in")]
    assert builtin["Default"].iloc[0] == "⭐"


def test_home_marks_openrouter_default_when_its_key_is_set(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-canary-0000")
    providers = run_page("Home.py").dataframe[0].value
    row = providers[providers["Provider"] == "OpenRouter"].iloc[0]
    assert row["Default"] == "⭐" and row["Status"] == "key from environment"


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.slug for lesson in LESSONS])
def test_every_page_renders_its_title(lesson):
    at = run_page(lesson.path)
    assert at.title[0].value == f"{lesson.icon} {lesson.title}"
