"""Watch the mask on the real built-in engine with llguidance over its own vocabulary."""

import json
import threading

import pytest

from lib.models.engine import local_server
from lib.structured.builder import build_schema
from lib.structured.mask import MAX_STEPS, MaskStepper, StepperBusy, grammar_tokenizer
from lib.structured.schemas import LOCATION, TRIP, from_json_text


@pytest.fixture(scope="module")
def server():
    return local_server()


def test_the_vocabulary_comes_from_the_engine_with_control_tokens_apart(server):
    tokenizer, vocabulary = grammar_tokenizer(server)
    assert len(vocabulary.pieces) == tokenizer.vocab_size == 49152
    assert vocabulary.texts[vocabulary.eos_id] == "<|im_end|>"
    assert vocabulary.pieces[vocabulary.eos_id] == b""  # a control token has no bytes
    paris = server.post("/tokenize", {"content": " Paris", "add_special": False})["tokens"]
    assert b"".join(vocabulary.pieces[i] for i in paris) == b" Paris"
    assert grammar_tokenizer(server)[0] is tokenizer  # built once per engine


def test_a_stepped_generation_ends_in_json_that_matches_and_masks_what_breaks_it(server):
    stepper = MaskStepper(server, LOCATION, LOCATION.question)
    while not stepper.done:
        step = stepper.step()
        assert step.picked.allowed
        assert 1 <= step.allowed_count <= step.vocabulary_size
        probabilities = [c.probability for c in step.candidates]
        assert probabilities == sorted(probabilities, reverse=True)
    assert stepper.error is None and not stepper.cut_short
    assert LOCATION.check(stepper.text).schema_valid, stepper.text
    # the grammar overruled the model at least once: its favourite was masked out
    assert any(not s.candidates[0].allowed for s in stepper.steps)
    # where a key is forced, exactly one token of the vocabulary is allowed
    assert any(s.allowed_count == 1 for s in stepper.steps)
    assert stepper.step() is None


def test_a_generation_stopped_by_the_step_limit_is_said_to_be_cut_short(server):
    """The nested trip: the small model keeps writing, and the step limit ends it mid-JSON."""
    stepper = MaskStepper(server, TRIP, TRIP.question)
    while not stepper.done:
        stepper.step()
    if not stepper.cut_short:  # finished on its own: then it must be whole, valid JSON
        assert TRIP.check(stepper.text).schema_valid, stepper.text
        pytest.skip("the model finished the trip inside the step limit")
    assert len(stepper.steps) == MAX_STEPS and stepper.error is None
    assert not TRIP.check(stepper.text).schema_valid  # cut off: broken JSON, as said


def test_a_number_field_masks_out_string_tokens(server):
    """The lecture's example: where the schema needs an integer, string tokens are masked."""
    schema = build_schema([{"name": "year", "type": "integer"}], "Founded",
                          question="When was Paris founded?")
    stepper = MaskStepper(server, schema, schema.question)
    while not stepper.text.rstrip().endswith('"year":') and not stepper.done:
        stepper.step()
    step = stepper.step()  # the value's first token
    strings = [c for c in step.candidates if c.text.strip().startswith('"')]
    digits = [c for c in step.candidates if c.text.strip().isdigit()]
    assert strings and not any(c.allowed for c in strings)
    assert all(c.allowed for c in digits)
    while not stepper.done:
        stepper.step()
    assert schema.check(stepper.text).schema_valid


def test_a_schema_the_grammar_cannot_compile_is_a_clear_error(server):
    schema = from_json_text(json.dumps({"type": "object", "properties": {
        "a": {"type": "string", "pattern": "(?<=x)y"}}, "required": ["a"]}))
    with pytest.raises(ValueError, match="cannot use this schema"):
        MaskStepper(server, schema, "Hi")


def test_the_engine_answers_public_gets(server):
    assert server.get("/v1/models")["data"][0]["meta"]["n_vocab"] == 49152
    assert server.get("/props")["eos_token"] == "<|im_end|>"


def test_a_generation_being_stepped_refuses_a_second_thread(server):
    stepper = MaskStepper(server, LOCATION, LOCATION.question)
    outcome = []

    def step():
        try:
            outcome.append(stepper.step())
        except StepperBusy as exc:
            outcome.append(exc)

    with stepper.lock:  # another script run is stepping
        other = threading.Thread(target=step)
        other.start()
        other.join(timeout=30)
    assert isinstance(outcome[0], StepperBusy) and stepper.steps == []
    other = threading.Thread(target=step)
    other.start()
    other.join(timeout=60)
    assert outcome[1].number == 1 and stepper.text == "{"


def test_two_threads_stepping_at_once_keep_one_consistent_generation(server):
    stepper = MaskStepper(server, LOCATION, LOCATION.question)
    start = threading.Barrier(2)
    problems, busy = [], []

    def keep_stepping():
        start.wait()
        for _ in range(8):
            try:
                stepper.step()
            except StepperBusy:
                busy.append(1)
            except Exception as exc:  # "Already borrowed" before the lock
                problems.append(exc)

    threads = [threading.Thread(target=keep_stepping) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert problems == []
    assert [s.number for s in stepper.steps] == list(range(1, len(stepper.steps) + 1))
    assert len(stepper.steps) + len(busy) == 16
    assert [s.picked.id for s in stepper.steps] == stepper.generated


def test_grammar_tokenizers_of_old_engine_addresses_are_dropped(server):
    """One entry per engine address; a restarted engine has a new port, so only the last
    few are kept. Three addresses of the same running engine stand in for restarts."""
    from dataclasses import replace

    from lib.structured import mask

    port = server.base_url.rsplit(":", 1)[1]
    addresses = [server.base_url, f"http://localhost:{port}", f"http://LOCALHOST:{port}"]
    for address in addresses:
        grammar_tokenizer(replace(server, base_url=address))
    kept = list(mask._grammar_tokenizers)
    assert len(kept) == mask.GRAMMAR_TOKENIZERS_KEPT and addresses[0] not in kept
    assert kept == addresses[1:]
