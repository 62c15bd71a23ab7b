"""The memory limit is the process's own cgroup's and its ancestors', not the root's.

Fake cgroup trees in a temporary folder (v1, v2, hybrid); the real cgroup is in
tests/browser/test_memory_limit_app.py."""

from __future__ import annotations

from pathlib import Path

from lib.models.settings import memory_limit_bytes

MB = 2**20


def _tree(root: Path, files: dict[str, str], own: str) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    (root / "proc-self-cgroup").write_text(own)
    return root / "proc-self-cgroup"


UNLIMITED_V1 = str(9223372036854771712)


def test_v1_a_sub_cgroup_has_its_own_limit(tmp_path):
    own = _tree(tmp_path, {
        "memory/memory.limit_in_bytes": UNLIMITED_V1,
        "memory/lab/memory.limit_in_bytes": UNLIMITED_V1,
        "memory/lab/replica-1/memory.limit_in_bytes": str(690 * MB),
    }, "9:name=systemd:/\n4:memory:/lab/replica-1\n0::/\n")
    assert memory_limit_bytes(tmp_path, own) == 690 * MB


def test_v1_an_ancestors_smaller_limit_binds(tmp_path):
    own = _tree(tmp_path, {
        "memory/memory.limit_in_bytes": UNLIMITED_V1,
        "memory/lab/memory.limit_in_bytes": str(500 * MB),
        "memory/lab/replica-1/memory.limit_in_bytes": str(2048 * MB),
    }, "3:cpuacct,memory:/lab/replica-1\n")  # controllers mounted together
    assert memory_limit_bytes(tmp_path, own) == 500 * MB


def test_v2_a_sub_cgroup_and_its_ancestors(tmp_path):
    own = _tree(tmp_path, {
        "cgroup.controllers": "cpu memory",
        "user.slice/memory.max": str(900 * MB),
        "user.slice/app.scope/memory.max": "max",
    }, "0::/user.slice/app.scope\n")
    assert memory_limit_bytes(tmp_path, own) == 900 * MB


def test_hybrid_v2_is_read_under_unified(tmp_path):
    own = _tree(tmp_path, {
        "unified/cgroup.controllers": "memory",
        "unified/box/memory.max": str(690 * MB),
        "memory/memory.limit_in_bytes": UNLIMITED_V1,
    }, "4:memory:/\n0::/box\n")
    assert memory_limit_bytes(tmp_path, own) == 690 * MB


def test_a_container_that_sees_its_cgroup_as_the_root(tmp_path):
    """/proc/self/cgroup names a host path the container's mount does not have: the root's
    limit (the container's own) still counts."""
    own = _tree(tmp_path, {"memory/memory.limit_in_bytes": str(690 * MB)},
                "4:memory:/docker/0123abcd\n")
    assert memory_limit_bytes(tmp_path, own) == 690 * MB


def test_no_limit_anywhere_is_the_machines_ram(tmp_path):
    own = _tree(tmp_path, {"memory/memory.limit_in_bytes": UNLIMITED_V1,
                           "memory/lab/memory.limit_in_bytes": UNLIMITED_V1},
                "4:memory:/lab\n")
    limit = memory_limit_bytes(tmp_path, own)
    assert limit is not None and 64 * MB < limit < int(UNLIMITED_V1)
