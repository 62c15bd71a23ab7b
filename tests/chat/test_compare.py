"""Several answers streamed at once: really concurrent, each with its own metrics."""

from __future__ import annotations

from lib.chat.compare import SideBySide
from lib.chat.providers import ChatProvider, make_provider
from lib.chat.sampling import SamplingOptions
from lib.chat.turn import ChatTurn
from lib.config import BUILTIN, Endpoint
from lib.inspector import Inspector

QUESTION = [{"role": "user", "content": "What should I do on my upcoming trip to Paris?"}]


def turn(provider: ChatProvider, model: str, max_tokens: int = 48, seed: int = 1) -> ChatTurn:
    options = SamplingOptions(max_tokens=max_tokens, temperature=0.7, seed=seed)
    return ChatTurn.start(provider, model, options, [dict(m) for m in QUESTION])


def test_two_panes_on_the_built_in_model_stream_interleaved():
    provider = make_provider(BUILTIN, Inspector())
    model = BUILTIN.suggested_models[0]
    race = SideBySide([turn(provider, model, 64, seed=1), turn(provider, model, 64, seed=2)]).start()
    snapshots = list(race.progress(interval_s=0.02))
    race.settle()
    first, second = race.timing(0), race.timing(1)
    assert first.first_token_s is not None and second.first_token_s is not None
    # Both started together: pane 2 was already writing before pane 1 had finished.
    assert second.first_token_s < first.done_s and first.first_token_s < second.done_s
    assert any(a and b and a != race.turns[0].stream.text for a, b in snapshots[:-1]), \
        "no moment with both panes part-way"
    for t in race.turns:
        assert t.stream.error is None and t.stream.metrics.completion_tokens > 10
        assert t.stream.metrics.usage_source == "provider" and t.cost == 0
        assert t.reply["content"] == t.stream.text
    provider.close()


def test_a_failing_pane_does_not_stop_the_other(fault_server):
    endpoint = Endpoint(id="openai", label="Fault server", base_url=fault_server.base_url,
                        api_key="sk-test-compare", kind="openai")
    provider = ChatProvider(endpoint, Inspector())
    race = SideBySide([turn(provider, "slow"), turn(provider, "ratelimit")]).start()
    list(race.progress())
    race.settle()
    slow, limited = race.turns
    assert slow.stream.text == "Streaming one word at a time from the fault server."
    assert slow.stream.error is None
    assert limited.stream.error is not None and "429" in str(limited.stream.error)


def test_settling_mid_stream_stops_every_pane_and_keeps_what_arrived(fault_server):
    fault_server.slow_delay = 0.2
    endpoint = Endpoint(id="openai", label="Fault server", base_url=fault_server.base_url,
                        api_key="sk-test-compare", kind="openai")
    provider = ChatProvider(endpoint, Inspector())
    race = SideBySide([turn(provider, "slow"), turn(provider, "slow")]).start()
    for texts in race.progress():
        if all(texts):
            break
    race.settle()  # what a rerun (a click elsewhere) does
    assert not race.running
    for t in race.turns:
        assert t.stream.text and t.stream.text != "Streaming one word at a time from the fault server."
        assert t.reply["content"] == t.stream.text and "stopped" in t.reply["error"].lower()
