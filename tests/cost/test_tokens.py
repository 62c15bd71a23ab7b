"""lib/tokens.py: tiktoken counts offline, from the BPE files the repo ships."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tiktoken
from hypothesis import given
from hypothesis import strategies as st

from lib.cost import tokens
from lib.cost.tokens import (
    ENCODINGS, UnknownEncoding, count_tokens, install_bundled_encodings, napkin_tokens, napkin_words, token_pieces,
    word_count, words_per_100_tokens,
)

ROOT = Path(__file__).resolve().parents[2]


def run_offline(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter whose HTTP(S) goes to a closed port: no network at all."""
    clean = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    dead = "http://127.0.0.1:9"
    clean.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead, **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


# Token ids published in tiktoken's own README / tests.
@pytest.mark.parametrize(
    ("encoding", "ids"), [("cl100k_base", [15339, 1917]), ("o200k_base", [24912, 2375])]
)
def test_known_token_ids(encoding: str, ids: list[int]) -> None:
    assert tokens.load_encoding(encoding).encode("hello world") == ids
    assert count_tokens("hello world", encoding) == 2


def test_the_two_encodings_cut_text_differently() -> None:
    text = "Ünïcödé 日本語 and some code: for i in range(10): print(i)"
    assert count_tokens(text, "o200k_base") != count_tokens(text, "cl100k_base")
    assert count_tokens(text) == count_tokens(text, "o200k_base")  # o200k is the default


def test_fresh_cache_dir_works_with_no_network(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    result = run_offline(
        "from lib.cost.tokens import count_tokens\n"
        "import tiktoken\n"
        "print(count_tokens('hello world', 'o200k_base'), count_tokens('hello world', 'cl100k_base'))\n"
        "print(len(tiktoken.get_encoding('o200k_base').encode('The quick brown fox')))\n",
        TIKTOKEN_CACHE_DIR=str(cache),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2", "4"]
    for bundled in ENCODINGS.values():  # named and checked the way tiktoken names and checks them
        cached = cache / hashlib.sha1(bundled.url.encode()).hexdigest()
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == bundled.sha256


@pytest.mark.parametrize("setting", [None, ""])
def test_without_a_configured_cache_dir_we_choose_one(setting: str | None) -> None:
    env = {} if setting is None else {"TIKTOKEN_CACHE_DIR": setting}
    result = run_offline(
        "import os; from lib.cost.tokens import count_tokens, DEFAULT_CACHE_DIR\n"
        "print(count_tokens('hello world'), os.environ['TIKTOKEN_CACHE_DIR'] == str(DEFAULT_CACHE_DIR))",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "True"]


def test_a_corrupt_cached_file_is_replaced(tmp_path: Path) -> None:
    bundled = ENCODINGS["cl100k_base"]
    (tmp_path / bundled.cache_file_name).write_bytes(b"not a BPE file")
    result = run_offline(
        "from lib.cost.tokens import count_tokens; print(count_tokens('hello world', 'cl100k_base'))",
        TIKTOKEN_CACHE_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    cached = (tmp_path / bundled.cache_file_name).read_bytes()
    assert hashlib.sha256(cached).hexdigest() == bundled.sha256


def test_plain_tiktoken_uses_the_installed_files() -> None:
    install_bundled_encodings()  # what count_tokens does on first use
    # tiktoken itself now finds both encodings offline.
    assert tiktoken.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


def test_unknown_encoding_says_which_exist() -> None:
    with pytest.raises(UnknownEncoding, match="o200k_base"):
        count_tokens("hi", "p50k_nonsense")


@given(st.text(max_size=200), st.sampled_from(list(ENCODINGS)))
def test_pieces_rebuild_the_text_one_per_token(text: str, encoding: str) -> None:
    pieces = token_pieces(text, encoding)
    assert "".join(pieces) == text
    assert len(pieces) == count_tokens(text, encoding)


def test_special_token_text_is_counted_not_refused() -> None:
    assert count_tokens("<|endoftext|>") > 1


def test_napkin_math_matches_the_lecture() -> None:
    assert napkin_tokens(75) == 100
    assert napkin_tokens(1500) == 2000
    assert napkin_words(2000) == 1500
    assert napkin_tokens(76) == 102  # rounded up: never under-budget
    with pytest.raises(ValueError):
        napkin_tokens(-1)


@given(st.integers(0, 10**9), st.integers(0, 10**6))
def test_napkin_tokens_grow_with_words(words: int, more: int) -> None:
    assert napkin_tokens(words + more) >= napkin_tokens(words)
    assert napkin_tokens(words) * 75 >= words * 100 > (napkin_tokens(words) - 1) * 75


def test_real_ratio_on_english_is_near_the_napkin() -> None:
    text = (
        "The quick brown fox jumps over the lazy dog while the farmer watches from the porch, "
        "wondering whether the weather will hold until the harvest is finally in."
    )
    assert word_count(text) == 28
    ratio = words_per_100_tokens(text)
    assert ratio is not None and 60 < ratio < 100
    assert words_per_100_tokens("") is None


def test_an_unwritable_cache_dir_falls_back_to_ours() -> None:
    result = run_offline(
        "import os; from lib.cost.tokens import count_tokens, DEFAULT_CACHE_DIR\n"
        "print(count_tokens('hello world'), os.environ['TIKTOKEN_CACHE_DIR'] == str(DEFAULT_CACHE_DIR))",
        TIKTOKEN_CACHE_DIR="/proc/no-such-dir/tiktoken",  # /proc refuses new dirs, even for root
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "True"]
