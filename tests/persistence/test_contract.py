"""What every session store does, run on SQLite and on a real Redis alike."""

from __future__ import annotations

import json
import threading

import pytest

from lib.persistence.store import SessionStore, StoreError
from tests.persistence.conftest import session_id

ALICE, BOB = session_id("alice's browser"), session_id("bob's browser")


def conversation(messages: int, words: int = 60) -> str:
    """JSON text shaped like a saved chat: ``messages`` turns of a few hundred bytes each."""
    return json.dumps([{"role": "user" if i % 2 == 0 else "assistant",
                        "content": " ".join(f"word{i}-{w}" for w in range(words))}
                       for i in range(messages)])


def test_what_is_saved_loads_back(store: SessionStore) -> None:
    saved = {"messages": conversation(4), "system_prompt": json.dumps("Be brief."),
             "temperature": "0.7"}
    store.save(ALICE, saved)
    assert store.load(ALICE) == saved
    store.save(ALICE, {"temperature": "1.2"})  # only what changed is sent
    assert store.load(ALICE) == {**saved, "temperature": "1.2"}


def test_removed_names_are_deleted(store: SessionStore) -> None:
    store.save(ALICE, {"a": "1", "b": "2", "c": "3"})
    store.save(ALICE, {"a": "10"}, removed=["b"])
    assert store.load(ALICE) == {"a": "10", "c": "3"}
    store.save(ALICE, {}, removed=iter(["a", "c", "never-saved"]))
    assert store.load(ALICE) == {}


def test_sessions_never_see_each_other(store: SessionStore) -> None:
    store.save(ALICE, {"messages": json.dumps(["alice"])})
    store.save(BOB, {"messages": json.dumps(["bob"]), "model": json.dumps("smol")})
    store.save(BOB, {}, removed=["messages"])
    assert store.load(ALICE) == {"messages": json.dumps(["alice"])}
    assert store.load(BOB) == {"model": json.dumps("smol")}


def test_an_unknown_session_has_nothing(store: SessionStore) -> None:
    assert store.load(session_id("a browser never seen")) == {}


def test_values_of_a_few_megabytes_round_trip(store: SessionStore) -> None:
    big = conversation(4000)  # ~2.9 MB
    assert len(big) > 2_500_000
    store.save(ALICE, {"messages": big, "note": json.dumps("é ✓ 日本")})
    assert store.load(ALICE) == {"messages": big, "note": json.dumps("é ✓ 日本")}


def test_thirty_sessions_saving_at_once_all_land(store: SessionStore) -> None:
    sessions = [session_id(f"browser {i}") for i in range(30)]
    start, failures = threading.Barrier(len(sessions)), []

    def work(session: str) -> None:
        try:
            start.wait()
            for turn in range(5):
                store.save(session, {"messages": conversation(turn + 1), "turn": str(turn)})
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    for session in sessions:
        assert store.load(session) == {"messages": conversation(5), "turn": "4"}


@pytest.mark.parametrize("bad", ["alice", "A" * 64, "g" * 64, "0" * 63, 42, None])
def test_a_session_is_a_sha256_never_a_raw_browser_id(store: SessionStore, bad) -> None:
    for call in (lambda: store.load(bad), lambda: store.save(bad, {"a": "1"})):
        with pytest.raises(ValueError, match="sha256"):
            call()


def test_names_and_values_the_caller_got_wrong_are_refused(store: SessionStore) -> None:
    with pytest.raises(ValueError):
        store.save(ALICE, {"x" * 201: "1"})
    with pytest.raises(ValueError):
        store.save(ALICE, {"tab\there": "1"})
    with pytest.raises(ValueError):
        store.save(ALICE, {"a": "1"}, removed=["a"])
    with pytest.raises(TypeError):
        store.save(ALICE, {"a": 1})
    assert store.load(ALICE) == {}


def test_a_closed_store_says_so(store: SessionStore) -> None:
    store.close()
    with pytest.raises(StoreError, match="won't survive a reload"):
        store.save(ALICE, {"a": "1"})
    store.close()  # twice is fine
