"""SavedSession on a real SQLite file: what a new session gets back, what is written when,
and that a failing store or an oversized value never costs the session its work."""

from __future__ import annotations

import pytest

from lib.persistence.browser import new_browser_id, session_key
from lib.persistence.saved_session import MAX_VALUE_BYTES, RETRY_S, SavedSession
from lib.persistence.shared_store import RETRY_S as SHARED_RETRY_S
from lib.persistence.shared_store import SharedStore
from lib.persistence.store import StoreUnavailable
from lib.persistence.sqlite_store import SQLiteStore
from lib.what_is_saved import CODEC, SAVED_KEYS

CONVERSATION = [{"role": "user", "content": "What should I do on my upcoming trip to Paris?"},
                {"role": "assistant", "content": "See the Louvre.", "usage": {"cost": "0"}}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(SQLiteStore):
    """The real store, counting its writes (what a run costs)."""

    writes = 0

    def save(self, session, changed, removed=()):
        self.writes += 1
        super().save(session, changed, removed)


@pytest.fixture
def store(tmp_path):
    store = CountingStore(tmp_path / "sessions.sqlite3")
    yield store
    store.close()


def browser(store, browser_id=None, clock=None) -> SavedSession:
    """A session of this browser, as the app starts one: by reading what it saved."""
    saved = SavedSession(lambda: (store, None), session_key(browser_id or new_browser_id()),
                         SAVED_KEYS, CODEC, **({"clock": clock} if clock else {}))
    saved.load()
    return saved


def test_a_reload_gets_back_the_conversation_and_settings_and_nothing_else(store):
    browser_id = new_browser_id()
    first = browser(store, browser_id)
    state = {"chat_history": CONVERSATION, "chat_system": "You help travelers.",
             "lab_temperature": 0.3, "lab_key_input_openai": "sk-canary-never-stored",
             "lab_url_input_openai": "http://typed.example/v1", "chat_stop": True,
             "lab_inspector": object()}
    first.save(state)
    again = browser(store, browser_id).load()
    assert again == {"chat_history": CONVERSATION, "chat_system": "You help travelers.",
                     "lab_temperature": 0.3}
    with open(store.path, "rb") as file:
        assert b"sk-canary-never-stored" not in file.read()


def test_another_browser_gets_an_empty_session(store):
    browser(store).save({"chat_history": CONVERSATION})
    assert browser(store).load() == {}


def test_a_run_that_changed_nothing_writes_nothing(store):
    saved = browser(store)
    state = {"chat_history": list(CONVERSATION), "lab_temperature": 0.7}
    saved.save(state)
    saved.save(state)
    saved.save(dict(state))
    assert store.writes == 1
    state["chat_history"].append({"role": "user", "content": "And Rome?"})  # changed in place
    saved.save(state)
    assert store.writes == 2


def test_work_the_page_removed_leaves_the_store_but_a_setting_off_screen_stays(store):
    browser_id = new_browser_id()
    saved = browser(store, browser_id)
    saved.save({"chat_history": CONVERSATION, "compare_results": [{"pane": 0}],
                "lab_temperature": 0.2})
    # Another page ran: Streamlit dropped the slider's value, and the results were cleared.
    state = {"chat_history": CONVERSATION}
    assert saved.forgotten_settings(state) == {"lab_temperature": 0.2}
    saved.save(state)
    assert browser(store, browser_id).load() == {"chat_history": CONVERSATION,
                                                  "lab_temperature": 0.2}


def test_a_bad_value_in_the_store_is_left_out_and_the_rest_comes_back(store):
    browser_id = new_browser_id()
    key = session_key(browser_id)
    store.save(key, {"lab_temperature": "7.5",          # beyond the slider: it would raise
                     "chat_system": "42",              # a number where text goes
                     "chat_history": '[{"role": "robot", "content": "hi"}]',
                     "chat_streaming": "false",
                     "a_key_from_an_older_version": '"x"',
                     "chat_view": "{not json"})
    assert browser(store, browser_id).load() == {"chat_streaming": False}


def test_a_value_too_big_to_keep_is_said_and_the_rest_is_saved(store):
    browser_id = new_browser_id()
    saved = browser(store, browser_id)
    huge = [{"role": "user", "content": "x" * (MAX_VALUE_BYTES + 10)}]
    state = {"chat_history": huge, "chat_system": "Be brief."}
    saved.save(state)
    assert "conversation is too big" in saved.too_big["chat_history"].lower()
    assert state["chat_history"] is huge  # nothing taken from the session
    assert browser(store, browser_id).load() == {"chat_system": "Be brief."}
    state["chat_history"] = CONVERSATION  # back under the limit: saved, and the note goes
    saved.save(state)
    assert not saved.too_big
    assert browser(store, browser_id).load()["chat_history"] == CONVERSATION


def test_a_full_store_is_a_message_the_work_stays_and_saving_resumes(tmp_path):
    clock = Clock()
    store = SQLiteStore(tmp_path / "tiny.sqlite3", max_mb=0.1)
    saved = browser(store, clock=clock)
    state = {"chat_history": CONVERSATION}
    saved.save(state)
    assert saved.problem is None
    state["chat_history"] = CONVERSATION + [{"role": "user", "content": "y" * 300_000}]
    saved.save(state)
    assert saved.problem and "full" in saved.problem.lower()
    assert len(state["chat_history"]) == 3
    state["chat_history"] = CONVERSATION + [{"role": "user", "content": "And Rome?"}]
    saved.save(state)  # within RETRY_S: not tried again on every click
    assert saved.problem
    clock.now += RETRY_S + 1
    saved.save(state)
    assert saved.problem is None
    store.close()


def test_a_damaged_store_file_is_a_message_and_a_repaired_one_is_used_again(tmp_path):
    path = tmp_path / "sessions.sqlite3"
    path.write_bytes(b"\x00garbage" * 4096)
    path.chmod(0o600)
    clock = Clock()
    shared = SharedStore(lambda: SQLiteStore(path), clock=clock)
    store, problem = shared.get()
    assert store is None and "damaged" in str(problem) and str(path) in str(problem)  # the operator's
    assert "damaged" in problem.for_students() and str(path) not in problem.for_students()
    assert "Traceback" not in str(problem)
    path.unlink()  # the operator deletes it
    assert shared.get() == (None, problem)  # remembered, not retried on every click
    clock.now += SHARED_RETRY_S + 1
    store, problem = shared.get()
    assert problem is None and store is not None
    saved = browser(store)
    saved.save({"chat_history": CONVERSATION})
    assert saved.problem is None
    store.close()


def test_without_a_store_nothing_is_saved_and_nothing_fails():
    saved = SavedSession(lambda: (None, None), session_key(new_browser_id()), SAVED_KEYS, CODEC)
    assert saved.load() == {}
    saved.save({"chat_history": CONVERSATION})
    assert saved.problem is None


def test_a_shared_setup_carries_settings_and_prompts_never_work_or_keys(store):
    sharer = browser(store)
    state = {"chat_history": CONVERSATION, "chat_system": "You help travelers.",
             "lab_temperature": 0.3, "lab_key_input_openrouter": "sk-or-canary",
             "tpl_rows": [{"uid": 1, "role": "user", "content": "hi"}],
             "bvi_prompt": "Mary had a little"}
    sharer.save(state)
    shared = sharer.current({k: v for k, v in state.items() if k != "lab_temperature"},
                            SAVED_KEYS.shared_on("streaming_chat"))
    assert shared == {"chat_system": "You help travelers.", "lab_temperature": 0.3}
    opener = browser(store)
    assert opener.adopt(shared) == shared
    assert opener.adopt({"chat_history": CONVERSATION, "lab_temperature": "hot",
                         "lab_key_input_openai": "sk-x", "chat_system": "ok"}) == {"chat_system": "ok"}
    # Crafted links that would break a page (a slider beyond its range, a builder cell of the
    # wrong type for its column) are refused value by value.
    assert opener.adopt({"turns": 201, "cached_share": -1, "bvi_top_k": 0.5,
                         "so_builder_table": [{"name": "x", "type": "string", "required": [1]}],
                         "so_builder_table_": 1}) == {}
    fine = [{"name": "city", "type": "string", "list": False, "required": True}]
    assert opener.adopt({"so_builder_table": fine})["so_builder_table"][0]["name"] == "city"


def test_start_afresh_forgets_what_every_tab_of_this_browser_saved(store):
    browser_id = new_browser_id()
    one_tab, other_tab = browser(store, browser_id), browser(store, browser_id)
    one_tab.save({"chat_history": CONVERSATION, "lab_temperature": 0.2})
    other_tab.save({"tpl_rows": [{"uid": 7, "role": "user", "content": "hi"}]})
    neighbour = browser(store)
    neighbour.save({"chat_history": CONVERSATION})
    one_tab.forget()
    assert browser(store, browser_id).load() == {}
    assert one_tab.forgotten_settings({}) == {}
    one_tab.save({"chat_history": CONVERSATION})  # a late save of the old session: not kept
    assert browser(store, browser_id).load() == {}
    assert neighbour.load() == {"chat_history": CONVERSATION}


def test_a_result_is_encoded_once_until_it_grows(store):
    """Results are big (a base vs instruct run is ~1 MB of JSON): not encoded again on every
    click, yet a trial an interrupted run's thread adds after a save is still saved."""
    from lib.persistence.codec import Codec
    from lib.structured.experiment import Trial
    from lib.structured.modes import Mode, ModeResult
    from lib.structured.runs import ExperimentRun
    from lib.what_is_saved import CODEC as APP_CODEC

    class CountingCodec(Codec):
        encoded: list[str] = []

        def __init__(self):
            super().__init__()
            self.__dict__.update(APP_CODEC.__dict__)

        def dumps(self, value):
            self.encoded.append(type(value).__name__)
            return super().dumps(value)

    codec = CountingCodec()
    browser_id = new_browser_id()
    saved = SavedSession(lambda: (store, None), session_key(browser_id), SAVED_KEYS, codec,
                         new_browser=True)
    trial = Trial.of(ModeResult(Mode.SCHEMA, Mode.SCHEMA, text="{}"), 1)
    run = ExperimentRun(2, "Location", trials=[trial])
    state = {"so_experiment": run}
    for _ in range(3):
        saved.save(state)
    assert codec.encoded.count("ExperimentRun") == 1
    run.trials.append(trial)  # the old run's thread, after the save
    saved.save(state)
    assert codec.encoded.count("ExperimentRun") == 2
    back = SavedSession(lambda: (store, None), session_key(browser_id), SAVED_KEYS, APP_CODEC).load()
    assert len(back["so_experiment"].trials) == 2


class FlakyStore(SQLiteStore):
    """The real store, failing its reads while ``down`` (a Redis blip, a locked file)."""

    down = False

    def load(self, session):
        if self.down:
            raise StoreUnavailable("The session store is not available (test): ...", "test")
        return super().load(session)


def test_a_session_that_could_not_read_the_store_never_writes_over_it(tmp_path):
    """A reload during a blip opens an empty page: its first click must not put that
    empty page over yesterday's conversation. Once the store answers, the conversation
    comes back, and what the student changed meanwhile is kept and saved."""
    store = FlakyStore(tmp_path / "s.sqlite3")
    browser_id = new_browser_id()
    browser(store, browser_id).save({"chat_history": CONVERSATION, "chat_system": "Be brief.",
                                     "lab_temperature": 0.2})
    clock = Clock()
    store.down = True
    reloaded = SavedSession(lambda: (store, None), session_key(browser_id), SAVED_KEYS, CODEC,
                            clock=clock)
    assert reloaded.load() == {} and "can't be reached" in reloaded.problem
    page = {"chat_history": [], "chat_system": "You help travelers.", "lab_temperature": 0.7}
    reloaded.save(page)  # the first run ends: the page as it started
    page["lab_temperature"] = 1.1  # the student moves a slider meanwhile
    reloaded.save(page)
    store.down = False
    assert reloaded.catch_up(page) == {}  # not before RETRY_S
    clock.now += RETRY_S + 1
    back = reloaded.catch_up(page)
    assert back == {"chat_history": CONVERSATION, "chat_system": "Be brief."}
    assert reloaded.problem is None
    page.update(back)
    reloaded.save(page)
    assert browser(store, browser_id).load() == {"chat_history": CONVERSATION,
                                                  "chat_system": "Be brief.", "lab_temperature": 1.1}
    store.close()


def test_keys_made_of_what_a_student_typed_are_saved_under_a_store_safe_name(store):
    browser_id = new_browser_id()
    state = {"so_question_Météo": "Quel temps fait-il à Paris ?", "so_question_" + "x" * 300: "long"}
    browser(store, browser_id).save(state)
    assert browser(store, browser_id).load() == {"so_question_Météo": "Quel temps fait-il à Paris ?"}
