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


# --- The optional base model (Gemma) on a small machine -------------------------------------
# Streamlit Community Cloud gives an app 690 MB to 2.7 GB. The app, SmolLM2's engine and
# Gemma's engine hold about 810 MB together, so below this Gemma is not started unless the
# operator says so (the OOM killer would otherwise take an engine, or the app, mid-lesson).
IDLE_ENV = "LAB_BASE_MODEL_IDLE_MINUTES"
MIN_MEMORY_ENV = "LAB_BASE_MODEL_MIN_MEMORY_MB"
DEFAULT_IDLE_MINUTES = 10.0
DEFAULT_MIN_MEMORY_MB = 1200


def _cgroup_limit_files(cgroup_root: Path, proc_cgroup: str) -> list[Path]:
    """Every memory limit that applies to the process: its own cgroup's (the path in
    /proc/self/cgroup: v2 "0::/path", v1 "N:...memory...:/path") and each ancestor's up to
    the root, whose limits bind too. A path missing under the mount (a container that sees
    its own cgroup as the root) leaves the root and whatever ancestors exist."""
    files = []
    for line in proc_cgroup.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # cgroup v2: the unified hierarchy (under unified/ if hybrid)
            mount = cgroup_root if (cgroup_root / "cgroup.controllers").exists() \
                else cgroup_root / "unified"
            name = "memory.max"
        elif "memory" in controllers.split(","):
            mount, name = cgroup_root / "memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [part for part in path.strip().split("/") if part]
        for depth in range(len(parts), -1, -1):
            files.append(mount.joinpath(*parts[:depth], name))
    return files


def memory_limit_bytes(cgroup_root: Path = Path("/sys/fs/cgroup"),
                       proc_cgroup: Path = Path("/proc/self/cgroup")) -> int | None:
    """The memory this process may use: the smallest limit of its cgroup and its ancestors
    (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``) and the machine's RAM; None if
    nothing can be read."""
    try:
        own = proc_cgroup.read_text()
    except OSError:
        own = "0::/\n1:memory:/"  # no /proc: the roots, as before
    limits = []
    for path in _cgroup_limit_files(cgroup_root, own):
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit():  # v2 "max": no limit at this level
            limits.append(int(raw))
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EngineSettingsError(f"{name}={raw!r} is not a number.") from None
    if not math.isfinite(value) or value < 0:
        raise EngineSettingsError(f"{name}={raw!r}: use 0 or more.")
    return value


def base_model_idle_s(environ: Mapping[str, str] | None = None) -> float:
    """Seconds without use after which the base model's engine is stopped (0: never)."""
    environ = os.environ if environ is None else environ
    return 60.0 * _number(environ, IDLE_ENV, DEFAULT_IDLE_MINUTES)


def base_model_memory_refusal(label: str, environ: Mapping[str, str] | None = None,
                              limit: int | None = None) -> str | None:
    """Why the base model must not start on this machine (too little memory), or None."""
    environ = os.environ if environ is None else environ
    needed_mb = _number(environ, MIN_MEMORY_ENV, DEFAULT_MIN_MEMORY_MB)
    limit = memory_limit_bytes() if limit is None else limit
    if limit is None or limit >= needed_mb * 2**20:
        return None
    return (f"{label} is not started: this machine allows the app {limit / 2**20:.0f} MB of "
            f"memory, and the offline pair needs about {needed_mb:.0f} MB next to the app. "
            f"Use a hosted pair, or set {MIN_MEMORY_ENV}=0 to start it anyway (at the risk of "
            "the out-of-memory killer).")
