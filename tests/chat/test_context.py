"""Context strategies on real token counts: the built-in model's engine templates and counts,
and its own summaries."""

from __future__ import annotations

import pytest

from lib.chat.context import (
    SUMMARY_HEADING, CachedSummarizer, ContextStrategy, SummaryFailed, estimated_prompt_tokens,
    model_summary, plan_context,
)
from lib.chat.demos import FORGETTING_DEMO, FORGETTING_DEMO_WINDOW
from lib.chat.providers import ChatProvider, make_provider
from lib.config import BUILTIN, Endpoint
from lib.inspector import Inspector
from lib.models.engine import local_server

SYSTEM = "You help travelers make plans for their trips."
DEMO = [dict(m) for m in FORGETTING_DEMO]


@pytest.fixture(scope="module")
def count():
    return local_server().count_chat_tokens


def sent_text(plan) -> str:
    return "\n".join(m["content"] for m in plan.messages)


def test_keep_all_sends_every_message_and_counts_the_templated_prompt(count):
    plan = plan_context(DEMO, SYSTEM, ContextStrategy(), count)
    assert plan.messages[0] == {"role": "system", "content": SYSTEM}
    assert len(plan.messages) == 1 + len(DEMO)
    assert "Amelia" in sent_text(plan)
    assert not plan.left_out and not plan.summarized
    assert plan.prompt_tokens == count(plan.messages) > estimated_prompt_tokens(DEMO) / 2


def test_a_small_sliding_window_forgets_the_name_from_turn_one(count):
    strategy = ContextStrategy(name="sliding_window", last_messages=FORGETTING_DEMO_WINDOW)
    plan = plan_context(DEMO, SYSTEM, strategy, count)
    assert "Amelia" not in sent_text(plan)  # turn 8 asks for a name the model never sees
    conversation = plan.messages[1:]
    assert conversation[0]["role"] == "user"  # never starts with an answer
    assert conversation[-1]["content"] == "By the way, what's my name?"
    assert len(conversation) <= FORGETTING_DEMO_WINDOW
    assert plan.left_out == frozenset(range(len(DEMO) - len(conversation)))
    assert plan.prompt_tokens < plan_context(DEMO, SYSTEM, ContextStrategy(), count).prompt_tokens


def test_a_token_budget_drops_only_as_many_old_messages_as_it_must(count):
    full = plan_context(DEMO, SYSTEM, ContextStrategy(), count).prompt_tokens
    budget = full * 2 // 3
    plan = plan_context(DEMO, SYSTEM, ContextStrategy(name="token_budget", token_budget=budget),
                        count)
    assert plan.prompt_tokens <= budget < full
    assert plan.left_out and min(plan.left_out) == 0
    # Keeping the newest message that went would have broken the budget.
    kept_from = max(plan.left_out) + 1
    one_more = [{"role": "system", "content": SYSTEM},
                *({"role": m["role"], "content": m["content"]} for m in DEMO[kept_from - 2:])]
    assert count(one_more) > budget
    assert plan.messages[1]["role"] == "user"


def test_a_budget_smaller_than_the_newest_message_still_sends_it(count):
    plan = plan_context(DEMO, SYSTEM, ContextStrategy(name="token_budget", token_budget=64),
                        count)
    assert [m["content"] for m in plan.messages[1:]] == ["By the way, what's my name?"]


def test_summarize_folds_older_messages_into_the_one_system_prompt_written_by_the_model(count):
    provider = make_provider(BUILTIN, Inspector())
    cache: dict = {}
    summarize = CachedSummarizer(model_summary(provider, BUILTIN.suggested_models[0]), cache)
    strategy = ContextStrategy(name="summarize", last_messages=FORGETTING_DEMO_WINDOW)
    plan = plan_context(DEMO, SYSTEM, strategy, count, summarize)
    assert plan.summary and len(plan.summary) > 20
    assert [m["role"] for m in plan.messages].count("system") == 1
    system = plan.messages[0]["content"]
    assert system.startswith(SYSTEM) and f"{SUMMARY_HEADING} {plan.summary}" in system
    assert plan.summarized == frozenset(range(len(DEMO) - len(plan.messages) + 1))
    assert plan.messages[-1]["content"] == "By the way, what's my name?"
    sent = provider.inspector.latest()["request"]["json"]["messages"]
    assert "Amelia" in sent[-1]["content"]  # the model was given the older turns to summarize
    # The next turn (same older messages) reuses the summary instead of paying again.
    again = plan_context(DEMO, SYSTEM, strategy, count, summarize)
    assert again.summary == plan.summary and len(summarize.spent) == 1
    assert summarize.spent[0].prompt_tokens > 50 and summarize.spent[0].cost == 0
    # Two turns later, only the summary and the two messages that left the window are sent.
    longer = [*DEMO, {"role": "assistant", "content": "I don't know your name."},
              {"role": "user", "content": "It's in my first message!"}]
    later = plan_context(longer, SYSTEM, strategy, count, summarize)
    asked = provider.inspector.latest()["request"]["json"]["messages"][-1]["content"]
    assert asked.startswith(f"EARLIER SUMMARY: {plan.summary}")
    assert DEMO[0]["content"] not in asked and len(summarize.spent) == 2
    assert later.summary and later.summarized == frozenset(range(len(longer) - 3))
    provider.close()


def test_an_empty_or_refused_summary_is_a_failure_not_a_silent_drop(fault_server):
    endpoint = Endpoint(id="openai", label="Fault server", kind="openai",
                        base_url=fault_server.base_url, api_key="sk-test-summary")
    provider = ChatProvider(endpoint, Inspector())
    strategy = ContextStrategy(name="summarize", last_messages=FORGETTING_DEMO_WINDOW)
    memory: dict = {}
    empty = CachedSummarizer(model_summary(provider, "empty"), memory)
    with pytest.raises(SummaryFailed, match="empty summary"):
        plan_context(DEMO, SYSTEM, strategy, estimated_prompt_tokens, empty)
    assert memory == {}  # nothing cached: the next turn tries again
    refused = CachedSummarizer(model_summary(provider, "ok", admit=lambda *_: "cap reached"), memory)
    with pytest.raises(SummaryFailed, match="cap reached"):
        plan_context(DEMO, SYSTEM, strategy, estimated_prompt_tokens, refused)
    assert not [r for r in fault_server.requests if r.body and r.body.get("model") == "ok"]


def test_without_a_summarizer_the_plan_marks_what_will_be_summarized(count):
    strategy = ContextStrategy(name="summarize", last_messages=FORGETTING_DEMO_WINDOW)
    plan = plan_context(DEMO, "", strategy, count)
    assert plan.summary is None and plan.summarized and not plan.left_out
    assert plan.messages[0]["role"] == "user"


def test_failed_and_refused_messages_are_not_counted_or_sent(count):
    history = [*DEMO[:2], {"role": "user", "content": "refused", "unsent": True,
                           "error": "cap reached"}, {"role": "user", "content": "Next?"}]
    plan = plan_context(history, "", ContextStrategy(name="sliding_window", last_messages=2),
                        count)
    assert plan.messages == [{"role": "user", "content": "Next?"}]  # never an answer first
    everything = plan_context(history, "", ContextStrategy(), count)
    assert "refused" not in sent_text(everything) and len(everything.messages) == 3
