"""lib/pricing.py and lib/conversation_cost.py: prices from genai-prices, exact money maths."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import genai_prices
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lib.cost.conversation import STRATEGIES, Conversation, calls_per_turn, conversation_costs, totals
from lib.input_errors import input_errors
from lib.cost.pricing import (
    DAYS_IN, LECTURE_PRICE, CustomPrice, PriceTable, Scenario, UnknownModel,
    lecture_example, price_table, scale,
)

# --- the lecture's worked example -------------------------------------------------------------


def test_lecture_example_is_exact() -> None:
    example = lecture_example()
    assert example.request.input == Decimal("0.000175")
    assert example.request.output == Decimal("0.028")
    assert example.request.total == Decimal("0.028175")
    assert example.monthly_at_one_per_month == Decimal("281.75")
    assert example.monthly_at_one_per_day == Decimal("8452.50")


def test_lecture_price_is_the_slides() -> None:
    assert LECTURE_PRICE.input_per_mtok == Decimal("1.75")
    assert LECTURE_PRICE.output_per_mtok == Decimal("14")
    assert LECTURE_PRICE.cached_input_per_mtok is None


# --- genai-prices lookups -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "provider", "input_price", "output_price", "cached"),
    [
        ("gpt-5.2-chat", "openai", "1.75", "14", "0.175"),  # the lecture's model, by its API name
        ("openai/gpt-5.2-chat", "openrouter", "1.75", "14", "0.175"),  # the seed's OpenRouter id
        ("openai: gpt-4o", "openai", "2.5", "10", "1.25"),
        ("anthropic: claude-sonnet-4-5", "anthropic", "3", "15", "0.3"),
        ("anthropic/claude-sonnet-4.5", "openrouter", "3", "15", "0.3"),
        ("gemini-2.5-pro", "google", "1.25", "10", "0.125"),
    ],
)
def test_well_known_models(ref, provider, input_price, output_price, cached) -> None:
    price = price_table().lookup(ref)
    assert price.provider == provider
    assert price.input_per_mtok == Decimal(input_price)
    assert price.output_per_mtok == Decimal(output_price)
    assert price.cached_input_per_mtok == Decimal(cached)
    assert price.source.startswith("genai-prices ")


def test_request_cost_agrees_with_genai_prices() -> None:
    usage = genai_prices.Usage(input_tokens=1234, output_tokens=567)
    expected = genai_prices.calc_price(usage, "gpt-4o", provider_id="openai").total_price
    assert price_table().lookup("openai: gpt-4o").request_cost(1234, 567).total == expected


def test_cached_input_is_discounted() -> None:
    gpt4o = price_table().lookup("openai: gpt-4o")
    # 500 tokens at $2.50/M + 500 cache hits at $1.25/M
    assert gpt4o.request_cost(1000, 0, cached_input_tokens=500).input == Decimal("0.001875")
    assert gpt4o.request_cost(1000, 0, cached_input_tokens=0).input == Decimal("0.0025")


def test_long_prompt_tier_applies() -> None:
    sonnet = price_table().lookup("anthropic: claude-sonnet-4-5")
    assert sonnet.tiered
    assert sonnet.request_cost(100_000, 0).input == Decimal("0.3")  # $3/M
    assert sonnet.request_cost(300_000, 0).input == Decimal("1.8")  # all of it at $6/M


def test_unknown_model_says_what_to_do() -> None:
    with pytest.raises(UnknownModel, match="provider: model"):
        price_table().lookup("definitely-not-a-model-xyz")


def test_catalog_lists_the_four_providers_and_every_entry_resolves() -> None:
    table = price_table()
    catalog = table.catalog()
    assert {"openai: gpt-5.2", "anthropic: claude-sonnet-4-5", "google: gemini-2.5-pro"} <= set(catalog)
    assert {ref.split(":")[0] for ref in catalog} == set(PriceTable.CATALOG_PROVIDERS)
    for ref in catalog:
        assert table.lookup(ref).output_per_mtok >= 0


def test_as_of_date_is_a_real_past_date() -> None:
    table = PriceTable(on=datetime(2026, 11, 26, tzinfo=UTC))
    assert isinstance(table.as_of, date)
    assert date(2025, 1, 1) <= table.as_of <= date(2026, 11, 26)
    assert PriceTable(on=datetime(2030, 1, 1, tzinfo=UTC)).as_of >= table.as_of


# --- prices typed by the user and bad input ---------------------------------------------------


def test_custom_price_accepts_dollar_signs_and_commas() -> None:
    price = CustomPrice(name="mine", input_per_mtok="$1.75", output_per_mtok=" 1,000 ")
    assert price.input_per_mtok == Decimal("1.75")
    assert price.output_per_mtok == Decimal("1000")
    assert price.to_model_price().request_cost(100, 2000).total == Decimal("2.000175")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input_per_mtok", "abc", "Input $ per 1M tokens: must be a number."),
        ("input_per_mtok", "-1", "Input $ per 1M tokens: must be 0 or more (you entered -1)."),
        ("input_per_mtok", "nan", "Input $ per 1M tokens: must be a real number, not NaN or infinity."),
        ("input_per_mtok", "inf", "Input $ per 1M tokens: must be a real number, not NaN or infinity."),
        ("input_per_mtok", "1e9", "Input $ per 1M tokens: must be at most 10,000 (you entered 1,000,000,000)."),
    ],
)
def test_bad_prices_get_plain_messages(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CustomPrice(name="x", output_per_mtok="1", **{field: value})
    assert input_errors(caught.value, CustomPrice) == [message]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"users": -1}, "Users: must be 0 or more (you entered -1)."),
        ({"users": 10**12}, "Users: must be at most 10,000,000,000 (you entered 1,000,000,000,000)."),
        ({"requests_per_user": "lots"}, "Requests per user: must be a number."),
        ({"output_tokens": 10**9}, "Output tokens (the reply): must be at most 10,000,000 (you entered 1,000,000,000)."),
        ({"per": "fortnight"}, "… per: must be 'day', 'week', 'month' or 'year'."),
    ],
)
def test_bad_scenarios_get_plain_messages(values: dict, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Scenario(**values)
    assert input_errors(caught.value, Scenario) == [message]


# --- the maths of scale -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per", "period", "requests"),
    [("day", "month", 30), ("month", "month", 1), ("month", "year", 12), ("week", "year", Fraction(360, 7)),
     ("day", "day", 1), ("month", "day", Fraction(1, 30))],
)
def test_requests_convert_between_periods(per: str, period: str, requests: Fraction) -> None:
    assert Scenario(users=1, requests_per_user=1, per=per, period=period).requests_in_period() == requests


def test_scale_is_exact_or_rounded_to_a_trillionth() -> None:
    assert scale(Decimal("0.028175"), 10_000) == Decimal("281.75")
    assert scale(Decimal(1), Fraction(1, 7)) == Decimal("0.142857142857")


flat_price = st.builds(
    lambda i, o: CustomPrice(name="flat", input_per_mtok=i, output_per_mtok=o).to_model_price(),
    st.decimals(0, 100, places=3), st.decimals(0, 100, places=3),
)
scenarios = st.builds(
    Scenario,
    input_tokens=st.integers(0, 200_000), output_tokens=st.integers(0, 50_000),
    users=st.integers(0, 10**7), requests_per_user=st.decimals(0, 1000, places=2),
    per=st.sampled_from(list(DAYS_IN)), period=st.sampled_from(list(DAYS_IN)),
)


@given(flat_price, scenarios, st.integers(0, 10**6))
def test_cost_grows_with_users(price, scenario, more) -> None:
    bigger = scenario.model_copy(update={"users": scenario.users + more})
    assert bigger.cost_over_period(price) >= scenario.cost_over_period(price)


@given(flat_price, scenarios, st.decimals(0, 100, places=2))
def test_cost_grows_with_requests(price, scenario, more) -> None:
    bigger = scenario.model_copy(update={"requests_per_user": scenario.requests_per_user + more})
    assert bigger.cost_over_period(price) >= scenario.cost_over_period(price)


@given(flat_price, scenarios, st.integers(0, 10**5), st.integers(0, 10**5))
def test_cost_grows_with_tokens(price, scenario, more_in, more_out) -> None:
    bigger = scenario.model_copy(update={
        "input_tokens": scenario.input_tokens + more_in, "output_tokens": scenario.output_tokens + more_out,
    })
    assert bigger.cost_per_request(price).total >= scenario.cost_per_request(price).total
    assert bigger.cost_over_period(price) >= scenario.cost_over_period(price)


@given(flat_price, scenarios, st.integers(1, 1000))
def test_cost_scales_linearly_with_users(price, scenario, k) -> None:
    scaled = scenario.model_copy(update={"users": scenario.users * k})
    exact = Fraction(scenario.cost_per_request(price).total) * scenario.requests_in_period()
    assert Fraction(scaled.cost_per_request(price).total) * scaled.requests_in_period() == k * exact
    if DAYS_IN[scenario.period] % DAYS_IN[scenario.per] == 0:  # whole numbers of requests: no rounding
        assert scaled.cost_over_period(price) == k * scenario.cost_over_period(price)
    else:
        assert abs(scaled.cost_over_period(price) - k * scenario.cost_over_period(price)) <= k * Decimal("1e-12")


@given(flat_price, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 50))
def test_request_cost_is_linear_in_tokens(price, input_tokens, output_tokens, k) -> None:
    one = price.request_cost(input_tokens, output_tokens)
    many = price.request_cost(k * input_tokens, k * output_tokens)
    assert (many.input, many.output) == (k * one.input, k * one.output)


def test_negative_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        LECTURE_PRICE.request_cost(-1, 10)


# --- conversation growth -----------------------------------------------------------------------

chats = st.builds(
    Conversation,
    turns=st.integers(1, 80), system_tokens=st.integers(0, 2000), user_tokens=st.integers(0, 2000),
    reply_tokens=st.integers(0, 2000), window_turns=st.integers(1, 30), summary_tokens=st.integers(0, 2000),
)


@given(chats)
def test_keep_all_resends_everything(chat: Conversation) -> None:
    for k, calls in enumerate(calls_per_turn(chat, "keep all"), start=1):
        assert [(c.input_tokens, c.output_tokens) for c in calls] == [
            (chat.system_tokens + (k - 1) * chat.exchange_tokens + chat.user_tokens, chat.reply_tokens)
        ]


@given(chats)
def test_window_and_summary_never_send_more_than_keep_all_per_reply(chat: Conversation) -> None:
    keep_all = calls_per_turn(chat, "keep all")
    window = calls_per_turn(chat, "sliding window")
    summarize = calls_per_turn(chat, "summarize")
    cap = chat.system_tokens + chat.window_turns * chat.exchange_tokens + chat.user_tokens
    for full, windowed, summarized in zip(keep_all, window, summarize, strict=True):
        assert windowed[-1].input_tokens <= min(full[-1].input_tokens, cap)
        assert summarized[-1].input_tokens <= cap + chat.summary_tokens


def test_summarize_folds_the_history_every_window() -> None:
    chat = Conversation(turns=7, system_tokens=0, user_tokens=10, reply_tokens=20, window_turns=3, summary_tokens=5)
    calls = calls_per_turn(chat, "summarize")
    assert [len(c) for c in calls] == [1, 1, 1, 2, 1, 1, 2]
    assert (calls[3][0].input_tokens, calls[3][0].output_tokens) == (90, 5)  # 3 exchanges -> summary
    assert calls[3][1].input_tokens == 5 + 10  # summary + the new message
    assert calls[6][0].input_tokens == 5 + 90  # previous summary + 3 new exchanges


def test_keep_all_cumulative_cost_is_quadratic() -> None:
    chat = Conversation(turns=40, system_tokens=100, user_tokens=100, reply_tokens=300)
    rows = [r for r in conversation_costs(chat, LECTURE_PRICE) if r.strategy == "keep all"]
    cumulative = [r.cumulative_cost for r in rows]
    second_differences = {
        cumulative[i + 2] - 2 * cumulative[i + 1] + cumulative[i] for i in range(len(cumulative) - 2)
    }
    # each turn resends one more exchange of 400 tokens at $1.75/M
    assert second_differences == {Decimal("400") * Decimal("1.75") / 1_000_000}


@given(chats)
def test_cumulative_costs_only_grow_and_keep_all_is_dearest(chat: Conversation) -> None:
    rows = conversation_costs(chat, LECTURE_PRICE)
    for strategy in STRATEGIES:
        running = [r.cumulative_cost for r in rows if r.strategy == strategy]
        assert running == sorted(running) and len(running) == chat.turns
    total = totals(rows)
    assert total["keep all"] >= total["sliding window"]


def test_usage_cost_prices_a_chat_request_from_its_usage():
    from lib.cost.pricing import usage_cost

    assert usage_cost("openai/gpt-5.2-chat", 100, 2000) == Decimal("0.028175")
    assert usage_cost("no-such-model-anywhere", 100, 2000) is None
