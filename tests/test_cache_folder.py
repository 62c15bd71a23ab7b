"""The app's cache folders: which, in what order, and the models' folder inside them."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lib.cache_folder import app_cache_root
from lib.models.assembled import cache_dirs


def test_lab_cache_dir_alone_when_set(tmp_path: Path) -> None:
    environ = {"LAB_CACHE_DIR": f" {tmp_path} ", "XDG_CACHE_HOME": "/elsewhere"}
    assert app_cache_root(environ) == [tmp_path]
    assert cache_dirs(environ) == [tmp_path]  # models go straight into it


def test_else_the_user_cache_then_the_temporary_folder(tmp_path: Path) -> None:
    temp = Path(tempfile.gettempdir()) / "hosted-llm-lab"
    assert app_cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == [tmp_path / "hosted-llm-lab", temp]
    assert app_cache_root({}) == [Path.home() / ".cache" / "hosted-llm-lab", temp]
    assert cache_dirs({"XDG_CACHE_HOME": str(tmp_path)}) == [tmp_path / "hosted-llm-lab" / "models",
                                                              temp / "models"]


def test_no_home_at_all_leaves_the_temporary_folder(monkeypatch) -> None:
    """A container run under a uid with no passwd entry and no HOME, where Path.home()
    raises (the real error is simulated: root here can't run this venv's Python as
    another uid, its interpreter lives under /root)."""
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert app_cache_root({}) == [Path(tempfile.gettempdir()) / "hosted-llm-lab"]
