"""How the embedded engine runs: threads, parallel slots, context and KV cache.

Read from the environment (``LAB_LOCAL_THREADS``, ``LAB_LOCAL_SLOTS``,
``LAB_LOCAL_CONTEXT``, ``LAB_LOCAL_KV_CACHE``); a value that is not a number in range is a
clear message, never a traceback and never a silently different setting.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class EngineSettingsError(ValueError):
    """A LAB_LOCAL_* setting could not be used; the message names it and says why."""


def cpu_quota() -> int:
    """CPUs this process may really use: the container's quota (cgroup v2 or v1) and the
    CPU affinity, not the host's core count that ``os.cpu_count()`` reports."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        try:
            quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
            period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
            if quota > 0:
                cpus = min(cpus, math.ceil(quota / period))
        except (OSError, ValueError):
            pass
    return max(1, cpus)


def default_threads() -> int:
    """All CPUs but one, which stays with Streamlit and the browser sessions it serves."""
    return max(1, cpu_quota() - 1)


class EngineSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    threads: int = Field(ge=1, le=256, description="CPU threads llama.cpp computes with")
    slots: int = Field(4, ge=1, le=64, description="requests answered side by side")
    context_per_slot: int = Field(4096, ge=512, le=32768,
                                  description="tokens one request may use, prompt and answer")
    kv_cache_type: str = Field("GGML_TYPE_Q8_0", pattern="^GGML_TYPE_(F16|Q8_0)$",
                               description="KV cache precision: Q8_0 halves its memory")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "EngineSettings":
        environ = os.environ if environ is None else environ
        names = {"threads": "LAB_LOCAL_THREADS", "slots": "LAB_LOCAL_SLOTS",
                 "context_per_slot": "LAB_LOCAL_CONTEXT", "kv_cache_type": "LAB_LOCAL_KV_CACHE"}
        values: dict[str, object] = {"threads": default_threads()}
        for field, name in names.items():
            raw = (environ.get(name) or "").strip()
            if not raw:
                continue
            if field == "kv_cache_type":
                if raw.lower() not in ("f16", "q8_0"):
                    raise EngineSettingsError(f"{name}={raw!r}: use f16 or q8_0.")
                values[field] = f"GGML_TYPE_{raw.upper()}"
            elif re.fullmatch(r"-?[0-9]+", raw):
                values[field] = int(raw)
            else:
                raise EngineSettingsError(f"{name}={raw!r} is not a whole number.")
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0])
            raise EngineSettingsError(
                f"{names[field]}={environ.get(names[field])!r}: {error['msg'].lower()}."
            ) from None
