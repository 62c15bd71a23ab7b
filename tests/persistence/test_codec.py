"""The codec of saved values: results come back as the objects the pages read, and nothing
but plain data and the named types ever goes in or comes out."""

import json
import math
import threading
from decimal import Decimal

import pytest

from lib.base_vs_instruct.next_token import Candidate, Step
from lib.base_vs_instruct.panes import PaneRequest
from lib.base_vs_instruct.saved import SavedPane, SavedRun
from lib.chat.errors import ProviderError
from lib.chat.streaming import StreamMetrics
from lib.persistence.codec import Codec, SavedError, Unsaveable
from lib.structured.experiment import Trial, summarize
from lib.structured.modes import MODES, Mode, ModeResult
from lib.structured.runs import ExperimentRun
from lib.structured.schemas import Check
from lib.what_is_saved import CODEC


def test_plain_values_round_trip_with_their_types():
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, ("nested",)), "d": Decimal("0.000123"),
             "keys": {("user", "hi"): 1}, "$": "a key that looks like a tag", "inf": -math.inf}
    back = CODEC.loads(CODEC.dumps(value))
    assert back == value
    assert isinstance(back["t"], tuple) and isinstance(back["t"][1], tuple)
    assert isinstance(back["d"], Decimal)


def test_an_experiment_comes_back_as_the_objects_its_charts_read():
    result = ModeResult(Mode.SCHEMA, Mode.JSON_MODE, text='{"name": "Paris"}',
                        check=Check(True, False, {"name": "Paris"}, ("'country' is required",)),
                        error=ProviderError("Rate limited.", "Try again in 20 s.", 429),
                        request_body={"model": "m", "messages": []}, latency_s=0.4,
                        cost_usd=Decimal("0.0001"))
    run = ExperimentRun(3, "Location on m", trials=[Trial.of(result, 1), Trial.of(result, 2)],
                        stopped="the time limit")
    back = CODEC.loads(CODEC.dumps(run))
    assert back == run
    assert back.trials[0].mode is Mode.SCHEMA  # summarize() groups modes by identity
    assert [s.mode for s in summarize(back.trials)] == [Mode.SCHEMA]
    restored = CODEC.loads(CODEC.dumps(result))
    assert str(restored.error) == "Rate limited. Try again in 20 s."
    assert restored.check.errors == ("'country' is required",)


def test_a_base_vs_instruct_run_keeps_its_candidates():
    step = Step("Paris", 0.61, (Candidate("Paris", 0.61), Candidate("London", 0.2)))
    pane = SavedPane(PaneRequest("completions", {"model": "g", "prompt": "Mary"}, {"top_k": 20}),
                     "had a little lamb", None,
                     StreamMetrics(0.1, 1.0, 5, 3, 5.0, "provider", "stop"), [step])
    run = SavedRun(pane, pane, None, "template", "Mary had a little", [{"role": "user", "content": "Mary"}])
    back = CODEC.loads(CODEC.dumps(run))
    assert back == run and back.base.steps[0].known_mass == pytest.approx(0.81)
    assert back.base.request.path == "/v1/completions"


def test_unknown_types_are_refused_not_pickled():
    with pytest.raises(Unsaveable):
        CODEC.dumps({"lock": threading.Lock()})
    with pytest.raises(Unsaveable):
        Codec().dumps(Check(True, True))  # a codec that was not told about Check


def test_an_exception_is_kept_as_its_message():
    back = CODEC.loads(CODEC.dumps([ValueError("the stream was cut")]))
    assert isinstance(back[0], SavedError) and str(back[0]) == "the stream was cut"


@pytest.mark.parametrize("text", [
    '{"$": "os.system", "v": "rm -rf /"}',           # a type nobody named
    '{"$": "ModeResult", "f": {"mode": "prompt"}}',   # a required field missing
    '{"$": "Mode", "v": "not-a-mode"}',
    '{"$": "Decimal", "v": "many"}',
    "[" * 100_000 + "]" * 100_000,                   # nested too deeply
    "not json",
])
def test_text_it_did_not_write_is_a_value_error(text):
    with pytest.raises(ValueError):
        CODEC.loads(text)


def test_a_dataclass_that_gained_a_field_still_loads_older_text():
    text = CODEC.dumps(Check(True, True))
    data = json.loads(text)
    data["f"]["a_field_from_the_future"] = 1
    assert CODEC.loads(json.dumps(data)) == Check(True, True)


def test_every_mode_round_trips():
    assert CODEC.loads(CODEC.dumps(list(MODES))) == list(MODES)
