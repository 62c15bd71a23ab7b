"""Statistics for classroom_load.py's JSON: nearest-rank percentiles (classroom_mode.py uses
pct too, with a summary of its own) and {p50, p95, max, n, all} of a list with gaps (None)."""

from __future__ import annotations

import math
import statistics


def pct(values: list[float], p: float) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def summary(values: list[float | None]) -> dict:
    present = [v for v in values if v is not None]
    r = lambda v: None if v is None else round(v, 3)  # noqa: E731
    return {"p50": r(statistics.median(present)) if present else None, "p95": r(pct(present, 95)),
            "max": r(max(present)) if present else None, "n": len(present),
            "all": [r(v) for v in values]}
