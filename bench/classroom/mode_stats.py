"""classroom_mode.py's figures: {p50, p90, p95, max, n, all} of a list with gaps (None), at a
chosen rounding, and the machine's load average (printed along the way)."""

from __future__ import annotations

import os
import statistics

from classroom.stats import pct


def summary(values: list[float | None], digits: int = 3) -> dict:
    """Not classroom.stats.summary (classroom_load's): this one's JSON also has p90, and the CPU and save
    figures are rounded to other digits than 3 (that benchmark's JSON has neither)."""
    present = [v for v in values if v is not None]
    r = lambda v: None if v is None else round(v, digits)  # noqa: E731
    return {"p50": r(statistics.median(present)) if present else None, "p90": r(pct(present, 90)),
            "p95": r(pct(present, 95)), "max": r(max(present)) if present else None,
            "n": len(present), "all": [r(v) for v in values]}


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]
