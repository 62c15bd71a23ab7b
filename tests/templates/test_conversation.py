import pytest

from lib.templates.conversation import (
    LECTURE_MESSAGES,
    as_messages,
    moved,
    new_row,
    removed,
    rows_from_messages,
    rule_notes,
)

LECTURE = [dict(m) for m in LECTURE_MESSAGES]


def test_move_up_and_down_and_stay_at_the_edges():
    rows = rows_from_messages(LECTURE)
    down = moved(rows, 0, 1)
    assert [r["role"] for r in down] == ["user", "system", "assistant", "user"]
    assert moved(down, 1, -1) == rows
    assert moved(rows, 0, -1) == rows and moved(rows, 3, 1) == rows


def test_remove_and_add_keep_uids_unique():
    rows = rows_from_messages(LECTURE)
    rows = removed(rows, 1) + [new_row("user", "Again")]
    assert [m["content"] for m in as_messages(rows)][-1] == "Again"
    assert len({r["uid"] for r in rows}) == len(rows)
    with pytest.raises(ValueError):
        new_row("tool")


def test_the_lecture_example_follows_every_rule():
    assert rule_notes(LECTURE) == []


def test_rules_broken_are_named():
    second = [LECTURE[1], LECTURE[0], *LECTURE[2:]]
    assert any("not first" in note for note in rule_notes(second))
    two = [*LECTURE, {"role": "system", "content": "x"}]
    assert any("2 system prompts" in note for note in rule_notes(two))
    assert any("in a row" in note for note in rule_notes([LECTURE[1], LECTURE[3]]))
    assert any("empty" in note for note in rule_notes([]))
