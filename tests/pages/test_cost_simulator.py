"""The Cost simulator page under AppTest: what a student sees, and what bad input does."""

from __future__ import annotations

import base64
import csv
import io
import math
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from lib.cost.pricing import LECTURE_PRICE, Scenario, price_table
from lib.cost.tokens import count_tokens
from lib.cost.report import comparison_csv, comparison_rows, dollars
from lib.ui.cost_widgets import LECTURE_CHOICE

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app_pages" / "6_Cost_Simulator.py")


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app() -> AppTest:
    return open_page()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list:
    return [pio.from_json(chart.proto.spec) for chart in at.get("plotly_chart")]


def values(array) -> list:
    """A trace's x or y, decoding plotly's binary form ({"dtype", "bdata"}) when used."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def screen_text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "error", "warning", "info") for e in getattr(at, kind)]
    parts += [m.value for m in at.metric]
    for frame in at.dataframe:
        parts.append(frame.value.to_string())
    return "\n".join(str(p) for p in parts)


def assert_sane(at: AppTest) -> None:
    """No traceback, and no NaN or infinity among the figures the user reads."""
    assert not at.exception, [e.value for e in at.exception]
    figures = [m.value for m in at.metric] + [m.value for m in at.markdown]
    figures += [frame.value.to_string() for frame in at.dataframe]
    for text in figures:
        assert not re.search(r"\b(nan|inf|infinity)\b", text, re.IGNORECASE), text


def test_opens_on_the_lectures_worked_example(app: AppTest) -> None:
    seen = metrics(app)
    assert seen["Input: 100 tokens"] == "$0.000175"
    assert seen["Output: 2,000 tokens"] == "$0.028"
    assert seen["Cost per request"] == "$0.028175"
    assert seen["10,000 users × 1 request per month"] == "$281.75/mo"
    assert seen["10,000 users × 1 request per day"] == "$8,452.50/mo"
    assert "**GPT-5.2 Chat** at **$1.75** per million input tokens and **$14** per million" in screen_text(app)


def test_default_scenario_is_the_lecture_and_prices_come_from_genai_prices(app: AppTest) -> None:
    table = app.dataframe[0].value
    lecture = table[table["Model"] == "GPT-5.2 Chat"].iloc[0]
    assert (lecture["Cost per request"], lecture["Cost per month"]) == ("$0.028175", "$281.75")
    gpt52 = table[table["Model"] == "GPT-5.2 (OpenAI)"].iloc[0]
    assert gpt52["Input $/1M"] == "$1.75" and gpt52["Cached input $/1M"] == "$0.175"
    assert gpt52["Price source"] == price_table().source
    assert set(table["Model"]) >= {"Claude Sonnet 4.5 (Anthropic)", "Gemini 2.5 Pro (Google)"}
    assert metrics(app)["Cost per month"] == "$281.75"
    note = next(c.value for c in app.caption if c.value.startswith("Prices:"))
    assert price_table().source in note and price_table().as_of.isoformat() in note


def test_comparison_chart_has_a_bar_per_model(app: AppTest) -> None:
    bars = charts(app)[0].data[0]
    assert bars.type == "bar"
    assert values(bars.x) == list(app.dataframe[0].value["Model"])
    assert bars.text[0] == "$281.75"


def test_one_request_a_day_gives_the_slides_monthly_figure(app: AppTest) -> None:
    app.selectbox(key="per").set_value("day").run()
    assert_sane(app)
    assert metrics(app)["Cost per month"] == "$8,452.50"
    assert metrics(app)["Requests per month"] == "300,000"


def test_cost_over_a_year_of_weekly_requests(app: AppTest) -> None:
    app.selectbox(key="per").set_value("week")
    app.selectbox(key="period").set_value("year").run()
    assert_sane(app)
    # 10,000 users x 1/week x 360/7 weeks x $0.028175 = $14,490
    assert metrics(app)["Cost per year"] == "$14,490.00"


def test_text_mode_counts_with_tiktoken(app: AppTest) -> None:
    app.radio(key="input_mode").set_value("Text (count with tiktoken)").run()
    text = "Explain, in plain words, why a conversation with a chatbot gets more expensive each turn."
    app.text_area(key="input_text").set_value(text)
    app.selectbox(key="encoding").set_value("cl100k_base").run()
    assert_sane(app)
    tokens = count_tokens(text, "cl100k_base")
    assert any(f"tiktoken counts **{tokens:,} tokens** in 15 words" in m.value for m in app.markdown)
    assert app.dataframe[0].value["Input tokens"].iloc[0] == tokens


def test_words_mode_shows_napkin_and_real_ratio(app: AppTest) -> None:
    app.number_input(key="input_words").set_value(1500).run()
    text = screen_text(app)
    assert "**1,500 words ≈ 2,000 tokens**" in text
    assert "Measured by tiktoken on a sample English prompt: **100 tokens ≈" in text
    assert app.dataframe[0].value["Input tokens"].iloc[0] == 2000


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("users", -5, "Users: must be 0 or more (you entered -5)."),
        ("users", 10**13, "Users: must be at most 10,000,000,000 (you entered 10,000,000,000,000)."),
        ("requests", -1.0, "Requests per user: must be 0 or more (you entered -1.0)."),
        ("output_tokens", 10**9, "Output tokens (the reply): must be at most 10,000,000 (you entered 1,000,000,000)."),
        ("input_words", -3, "Words in the user's message: must be 0 or more."),
        ("window", 0, "Window (exchanges kept): must be 1 or more (you entered 0)."),
        ("reply_tokens", -400, "Tokens per reply: must be 0 or more (you entered -400)."),
    ],
)
def test_bad_numbers_get_a_clear_message(app: AppTest, key: str, value, message: str) -> None:
    app.number_input(key=key).set_value(value).run()
    assert_sane(app)
    assert message in [e.value for e in app.error]


def test_custom_price_typed_as_text(app: AppTest) -> None:
    app.text_input(key="custom_name").set_value("My fine-tune")
    app.text_input(key="custom_input").set_value("abc")
    app.text_input(key="custom_output").set_value("-2")
    submit = next(b for b in app.button if b.label == "Add to the comparison")
    submit.click().run()
    assert_sane(app)
    errors = [e.value for e in app.error]
    assert "Input $ per 1M tokens: must be a number." in errors
    assert "Output $ per 1M tokens: must be 0 or more (you entered -2)." in errors
    assert "My fine-tune" not in list(app.dataframe[0].value["Model"])

    app.text_input(key="custom_input").set_value("$0.50")
    app.text_input(key="custom_output").set_value("2")
    next(b for b in app.button if b.label == "Add to the comparison").click().run()
    assert_sane(app)
    row = app.dataframe[0].value.set_index("Model").loc["My fine-tune"]
    # 100 x $0.50/M + 2,000 x $2/M = $0.00405 per request; x 10,000
    assert (row["Cost per request"], row["Cost per month"]) == ("$0.00405", "$40.50")


def test_unknown_model_is_a_warning_not_a_crash(app: AppTest) -> None:
    app.multiselect(key="models").set_value([LECTURE_CHOICE, "openai/gpt-4o-mini", "no-such-model-zz"]).run()
    assert_sane(app)
    assert any("no-such-model-zz" in w.value for w in app.warning)
    assert list(app.dataframe[0].value["Model"]) == ["GPT-5.2 Chat", "GPT-4o-mini (OpenRouter)"]


def test_no_model_selected_says_so(app: AppTest) -> None:
    app.multiselect(key="models").set_value([]).run()
    assert_sane(app)
    assert [i.value for i in app.info] == ["Pick at least one model to price the scenario."]


def test_conversation_growth_is_shown_for_all_strategies(app: AppTest) -> None:
    app.slider(key="turns").set_value(100).run()
    assert_sane(app)
    seen = metrics(app)
    keep_all, window, summarize = (
        Decimal(seen[f"100 turns, {s}"].lstrip("$").replace(",", ""))
        for s in ("keep all", "sliding window", "summarize")
    )
    assert keep_all > 3 * window and keep_all > 3 * summarize
    cumulative = next(f for f in charts(app) if "Cumulative" in f.layout.title.text)
    assert {t.name for t in cumulative.data} == {"keep all", "sliding window", "summarize"}
    keep = next(t for t in cumulative.data if t.name == "keep all")
    x, y = values(keep.x), values(keep.y)
    assert x == list(range(1, 101)) and math.isclose(y[-1], float(keep_all), abs_tol=0.005)
    growth = [b - a for a, b in zip(y, y[1:])]
    assert all(later > earlier for earlier, later in zip(growth, growth[1:]))  # the curve bends up


def test_csv_export_is_exact() -> None:
    rows = comparison_rows([LECTURE_PRICE], Scenario(per="day"))
    (record,) = csv.DictReader(io.StringIO(comparison_csv(rows)))
    assert record["Cost per request"] == "0.028175"
    assert record["Cost per month"] == "8452.5"
    assert record["Input $/1M"] == "1.75" and record["Cached input $/1M"] == ""


def test_the_page_offers_the_csv_download(app: AppTest) -> None:
    assert [b.label for b in app.get("download_button")] == ["Download the scenario table (CSV)"]


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("0.028175", "$0.028175"), ("8452.5", "$8,452.50"), ("0", "$0.00"), ("0.000000175", "$0.000000175"),
     ("0.1428571428571", "$0.142857"), ("1207.5", "$1,207.50")],
)
def test_dollars(amount: str, shown: str) -> None:
    assert dollars(Decimal(amount)) == shown
