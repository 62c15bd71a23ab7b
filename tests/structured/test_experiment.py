"""The experiment's bookkeeping: rounds alternate modes, rates, medians, the estimate."""

from decimal import Decimal

from lib.structured.experiment import Trial, estimate, summarize, trials
from lib.structured.modes import MODES, Mode, ModeResult
from lib.structured.schemas import Check


def result(mode, text_ok, schema_ok, latency, tokens, error=None):
    r = ModeResult(mode, mode, check=None if error else Check(text_ok, schema_ok),
                   latency_s=latency, completion_tokens=tokens)
    r.error = error
    return r


def test_rounds_alternate_modes_and_stopping_early_keeps_what_ran():
    asked = []

    def run_once(mode):
        asked.append(mode)
        return result(mode, True, mode is Mode.SCHEMA, 1.0, 10)

    iterator = trials(run_once, MODES, n=4)
    first_five = [next(iterator) for _ in range(5)]
    assert asked == [*MODES, Mode.PROMPT, Mode.JSON_MODE]  # nothing sent past the stop
    assert [t.run for t in first_five] == [1, 1, 1, 2, 2]


def test_rates_count_answers_and_medians_skip_failures():
    done = [Trial.of(result(Mode.PROMPT, False, False, 2.0, 20), 1),
            Trial.of(result(Mode.PROMPT, True, False, 4.0, 20), 2),
            Trial.of(result(Mode.PROMPT, True, True, 9.0, 30), 3),
            Trial.of(result(Mode.PROMPT, False, False, 0.1, None, error="boom"), 4)]
    [summary] = summarize(done)
    assert (summary.runs, summary.failed) == (4, 1)
    assert summary.valid_json_rate == 2 / 3 and summary.schema_valid_rate == 1 / 3
    assert summary.median_latency_s == 4.0
    assert summary.median_ms_per_token == 200.0  # 4 s / 20 tokens


def test_the_estimate_is_the_most_the_experiment_can_take():
    priced = estimate(10, MODES, prompt_tokens=100, max_tokens=200,
                      price=lambda p, c: Decimal(p) / 1000 + Decimal(c) / 100)
    assert priced.requests == 30 and priced.max_tokens == 30 * 300
    assert priced.cost_usd == Decimal(3000) / 1000 + Decimal(6000) / 100
    assert estimate(1, MODES, 1, 1, price=lambda p, c: None).cost_usd is None


def test_answers_cut_at_max_tokens_are_counted_apart():
    cut = result(Mode.SCHEMA, False, False, 3.0, 400)
    cut.finish_reason = "length"
    done = [Trial.of(cut, 1), Trial.of(result(Mode.SCHEMA, True, True, 1.0, 60), 2)]
    [summary] = summarize(done)
    assert summary.schema_valid_rate == 0.5
    assert summary.cut_at_max_tokens == 1 and summary.schema_valid_when_finished == 1.0
