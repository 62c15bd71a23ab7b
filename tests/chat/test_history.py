"""What of the conversation is sent: display-only fields dropped, roles kept alternating, and
the oldest messages left out when a context window is full."""

from lib.chat.history import ContextWindow, fit_to_window, mark_unsent, to_api_messages


def test_the_system_prompt_goes_first_and_display_fields_stay_home():
    history = [{"role": "user", "content": "Hi", "error": "shown only"},
               {"role": "assistant", "content": "Hello!", "settled": True}]
    assert to_api_messages(history, "  Be brief.  ") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]


def test_refused_messages_and_failed_empty_answers_are_not_sent():
    refused = {"role": "user", "content": "Too many"}
    mark_unsent(refused, "cap reached")
    history = [
        {"role": "user", "content": "First"},
        {"role": "assistant", "content": "", "error": "401"},  # failed before a token
        refused,
        {"role": "user", "content": "Second"},
        {"role": "assistant", "content": "Partial", "error": "cut off"},  # kept: it was said
        {"role": "user", "content": "Third"},
    ]
    sent = to_api_messages(history)
    assert [m["content"] for m in sent] == ["Second", "Partial", "Third"]
    assert refused["error"] == "cap reached"


def words(messages):
    return sum(len(m["content"].split()) + 2 for m in messages)


def test_fit_to_window_drops_oldest_first_but_keeps_system_and_newest():
    messages = [{"role": "system", "content": "Be brief."}]
    for n in range(5):
        messages += [{"role": "user", "content": f"question {n} " * 5},
                     {"role": "assistant", "content": f"answer {n} " * 5}]
    messages.append({"role": "user", "content": "last one"})
    fitted = fit_to_window(messages, ContextWindow(60, words), answer_tokens=20)
    kept, dropped = fitted.messages, fitted.dropped
    assert fitted.fits and fitted.prompt_tokens == words(kept) <= 40
    assert kept[0] == messages[0] and kept[-1] == messages[-1]
    assert kept[1]["role"] == "user"  # never starts with an orphaned answer
    assert dropped == len(messages) - len(kept) > 0
    assert kept[1:] == messages[len(messages) - len(kept) + 1:]


def test_fit_to_window_changes_nothing_that_fits():
    messages = [{"role": "user", "content": "hi"}]
    fitted = fit_to_window(messages, ContextWindow(100, words), 10)
    assert (fitted.messages, fitted.dropped, fitted.fits) == (messages, 0, True)


def test_a_newest_message_too_long_for_the_window_does_not_fit():
    messages = [{"role": "user", "content": "old"}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "word " * 200}]
    fitted = fit_to_window(messages, ContextWindow(100, words), 10)
    assert not fitted.fits and fitted.messages == messages[-1:]


def test_regenerate_drops_the_last_answer_only():
    from lib.chat.history import for_regenerate

    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
               {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]
    assert for_regenerate(history) == history[:3]
    assert for_regenerate(history[:3]) == history[:3]
    assert len(history) == 4  # the original is untouched


def test_editing_a_user_message_keeps_what_came_before_and_drops_what_followed():
    import pytest

    from lib.chat.history import edited_from

    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
               {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]
    assert edited_from(history, 2, "C!") == [*history[:2], {"role": "user", "content": "C!"}]
    with pytest.raises(ValueError):
        edited_from(history, 1, "not mine")
