"""The app in a 690 MB cgroup (Community Cloud's smallest), driven in Chromium (outside it):
the chat lesson answers, Base vs instruct refuses the offline base model with a message, the
chat still answers after, and the OOM killer never takes anything.

Needs a memory cgroup it can make (root, cgroup v1 or v2 with the memory controller):
skipped with the reason where it cannot."""

from __future__ import annotations

import os

import pytest

from lib.models.shipped import GEMMA3_BASE
from tests.browser.test_builtin_robustness import (open_chat, send, set_max_tokens,
                                                   wait_for_complete_answer)
from tests.servers.memory_cgroup import COMMUNITY_CLOUD_BYTES, CgroupUnavailable, MemoryCgroup
from tests.servers.process_tree import app_pid, engine_children
from tests.servers.streamlit_app import EXCEPTION, wait_for_app_run

REFUSAL = f"{GEMMA3_BASE.label} is not started: this machine allows the app 690 MB of memory"


@pytest.fixture
def cloud_sized_cgroup():
    try:
        group = MemoryCgroup.create(COMMUNITY_CLOUD_BYTES)
    except CgroupUnavailable as exc:
        pytest.skip(f"no 690 MB cgroup for the app: {exc}")
    try:
        with group.spawning():  # this machine lets a process be started inside
            pass
    except CgroupUnavailable as exc:
        group.remove()
        pytest.skip(f"no 690 MB cgroup for the app: {exc}")
    yield group
    group.remove()


def test_under_690_mb_the_chat_works_and_the_base_model_is_refused(page, start_streamlit,
                                                                   cloud_sized_cgroup):
    with cloud_sized_cgroup.spawning():  # the browser is already running, outside
        url = start_streamlit({"LAB_BASE_MODEL_MIN_MEMORY_MB": None})
    app = app_pid(url)
    assert app in cloud_sized_cgroup.pids

    open_chat(page, url)
    set_max_tokens(page, 48)
    send(page, "Name three colours.")
    assert wait_for_complete_answer(page, 1, timeout=120_000)
    [engine] = engine_children(app)

    page.goto(f"{url}/Base_vs_Instruct")
    wait_for_app_run(page, timeout=120_000)
    page.get_by_text(REFUSAL).first.wait_for()
    page.get_by_role("button", name="Generate both").click()
    wait_for_app_run(page, timeout=60_000)
    page.get_by_text(REFUSAL).first.wait_for()  # said again where the panes would be
    assert page.locator(EXCEPTION).count() == 0
    assert engine_children(app) == [engine]  # Gemma's engine was never started

    open_chat(page, url)
    send(page, "And three animals.")
    assert wait_for_complete_answer(page, 3, timeout=120_000)
    stats = cloud_sized_cgroup.stats()
    assert stats["oom_kill"] in (0, None), stats
    os.kill(app, 0)  # still alive, and the same engine still serves
    assert engine_children(app) == [engine]
