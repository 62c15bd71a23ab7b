"""The app's private cache folders: where it may keep files of its own on this machine.

The assembled base model, unpacked tokenizers and the session store live here. Best first:
``LAB_CACHE_DIR`` if the operator set it, the user's cache folder, then the system's
temporary folder (a read-only home on a hosted deployment must not make the app unusable).

Every folder must be ours: created 0o700, and a folder owned by another user or writable by
group/others is refused. The fallback under /tmp is shared by every local user, and whoever
creates it first could plant a model file of the right size, or read a class's saved work.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

CACHE_ENV = "LAB_CACHE_DIR"
APP_FOLDER = "hosted-llm-lab"


def app_cache_root(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The app's private cache folders, best first: just ``LAB_CACHE_DIR`` if it is set,
    else ``$XDG_CACHE_HOME`` (or ``~/.cache``) / hosted-llm-lab, then the temporary folder's
    hosted-llm-lab. Nothing is created or checked here (see make_private_dirs and
    unsafe_folder_reason)."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(CACHE_ENV, "").strip()
    if chosen:
        return [Path(chosen).expanduser()]
    shared = Path(tempfile.gettempdir()) / APP_FOLDER
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    try:
        user_cache = Path(xdg) if xdg else Path.home() / ".cache"
    except RuntimeError:  # no HOME and no passwd entry (a container run under any uid)
        return [shared]
    return [user_cache / APP_FOLDER, shared]


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing folders above it, each 0o700 (``mkdir(parents=True)``
    gives the parents the umask's mode, often group-writable)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass  # made by another process meanwhile: the checks that follow decide


def unsafe_folder_reason(folder: Path) -> str | None:
    """Why a cache folder may not be trusted (another user could write in it), or None.
    A folder that does not exist yet is fine: we create it, 0o700."""
    try:
        info = folder.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    if info.st_uid != os.getuid():
        return "it belongs to another user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "other users may write in it"
    return None
