"""The page's runs: each run keeps its own results, a session sends one request at a time
(across an old run still finishing and a new one), and an experiment has a time limit.
Real requests to the loopback fault server, real threads."""

import threading
import time

import openai

from lib.structured.modes import MODES, Ask, Mode, run_mode
from lib.structured.runs import AskRun, ExperimentRun, ask_each, run_experiment
from lib.structured.schemas import LOCATION

PARIS = Ask("What are the GPS coordinates for Paris?", max_tokens=100)


def sender(fault_server, model: str, spans: list | None = None):
    client = openai.OpenAI(base_url=fault_server.base_url, api_key="sk-test", max_retries=0)

    def send(mode: Mode):
        started = time.monotonic()
        result = run_mode(client, model, mode, LOCATION, PARIS)
        if spans is not None:
            spans.append((started, time.monotonic()))
        return result

    return send


def test_a_restarted_experiment_never_gets_the_old_runs_results(fault_server):
    session = {}
    lock = threading.Lock()
    old = session["current"] = ExperimentRun(6, "old")
    send = sender(fault_server, "json")

    def send_then_restart(mode):
        result = send(mode)
        if len(fault_server.requests) == 2:  # Stop, then Start, while this request was out
            session["current"] = ExperimentRun(6, "new")
        return result

    run_experiment(old, MODES, 2, send_then_restart, lock, lambda: session["current"] is old)
    new = session["current"]
    assert len(old.trials) == 1 and new.trials == []  # the old run stopped, kept apart
    run_experiment(new, MODES, 2, send, lock, lambda: session["current"] is new)
    assert len(new.trials) == 6 and [t.run for t in new.trials] == [1, 1, 1, 2, 2, 2]
    assert len(old.trials) == 1


def test_two_runs_of_one_session_never_have_two_requests_out_at_once(fault_server):
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    send = sender(fault_server, "late", spans)  # each answer starts a second late
    runs = [ExperimentRun(2, "a"), ExperimentRun(2, "b")]
    threads = [threading.Thread(target=run_experiment,
                                args=(run, (Mode.PROMPT,), 2, send, lock, lambda: True))
               for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [len(run.trials) for run in runs] == [2, 2]
    spans.sort()
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))


def test_an_experiment_stops_at_its_time_limit(fault_server):
    ticks = iter(range(0, 10_000, 100))  # each look at the clock: 100 s later
    run = ExperimentRun(30, "long")
    run_experiment(run, MODES, 10, sender(fault_server, "json"), threading.Lock(),
                   lambda: True, time_limit_s=250, clock=lambda: next(ticks))
    assert len(run.trials) == 2 and "time limit" in run.stopped


def test_ask_each_writes_into_its_own_run(fault_server):
    first, second = AskRun(), AskRun()
    lock = threading.Lock()
    ask_each(first, MODES, sender(fault_server, "json"), lock)
    ask_each(second, MODES[:1], sender(fault_server, "json"), lock)
    assert len(first.results) == 3 and len(second.results) == 1 and first.id != second.id
