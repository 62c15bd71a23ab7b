"""The page's runs of requests, without Streamlit: "Ask in all three modes" and the
reliability experiment.

A click reruns the page in a new thread while the old one may still wait on a request, so
each run writes into its own result object (a newer run never sees an older one's results),
and a session sends one request at a time: the requests of every run take the session's
lock, so an old run finishing its last request never overlaps a new run's first. The
caller draws progress in ``on_progress``: a Streamlit call there is where a click ends the
run.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from lib.structured.experiment import Trial
from lib.structured.modes import Mode, ModeResult

EXPERIMENT_TIME_LIMIT_S = 600.0  # the built-in engine is shared by a class: bound one run
_run_ids = itertools.count(1)


def new_run_id() -> int:
    return next(_run_ids)


@dataclass
class AskRun:
    """The answers of one click of "Ask in all three modes"."""

    id: int = field(default_factory=new_run_id)
    results: list[ModeResult] = field(default_factory=list)


@dataclass
class ExperimentRun:
    planned: int
    label: str
    id: int = field(default_factory=new_run_id)
    trials: list[Trial] = field(default_factory=list)
    stopped: str | None = None  # why it ended early (caps, time limit)


def ask_each(run: AskRun, modes: Sequence[Mode], send: Callable[[Mode], ModeResult],
             request_lock: threading.Lock,
             on_progress: Callable[[int, Mode], None] = lambda done, mode: None) -> AskRun:
    """One request per mode, in order, into ``run``; stops at the first refused by caps."""
    for index, mode in enumerate(modes):
        on_progress(index, mode)
        with request_lock:
            result = send(mode)
        run.results.append(result)
        if result.refused:
            break
    return run


def run_experiment(run: ExperimentRun, modes: Sequence[Mode], n: int,
                   send: Callable[[Mode], ModeResult], request_lock: threading.Lock,
                   is_current: Callable[[], bool],
                   on_progress: Callable[[ExperimentRun], None] = lambda run: None,
                   time_limit_s: float = EXPERIMENT_TIME_LIMIT_S,
                   clock: Callable[[], float] = time.monotonic) -> ExperimentRun:
    """N rounds of the modes, one request at a time, into ``run.trials``. Ends early when
    a request is refused by the caps, at the time limit, or when a newer run took over."""
    started = clock()
    for round_number in range(1, n + 1):
        for mode in modes:
            if not is_current():
                return run
            if clock() - started > time_limit_s:
                run.stopped = (f"the experiment's time limit ({time_limit_s / 60:g} min) was "
                               "reached; the engine is shared, so one run may not hold it longer.")
                return run
            with request_lock:
                result = send(mode)
            if result.refused:
                run.stopped = result.refused
                return run
            if not is_current():
                return run  # a newer run started while this request was out: not kept
            run.trials.append(Trial.of(result, round_number))
            on_progress(run)
    return run
