"""classroom_mode.py part 1: reload -> restored. Per store, one browser whose saved session
holds the 50-message conversation and one whose holds none, reloaded in turn, both stores' apps
side by side."""

from __future__ import annotations

import asyncio
import time

from classroom.browser import open_chat
from classroom.conversation import MESSAGES, conversation, page_marks
from classroom.cpu_memory import cpu_seconds
from classroom.mode_servers import App
from classroom.mode_stats import loadavg, summary
from classroom.sessions import PAGE_STATE_JS, browser_key, new_context, saved_session, timed_reload
from lib.what_is_saved import CODEC


class ReloadSubject:
    """One app's two browsers for part 1: one whose saved session holds the 50-message
    conversation (written through the store API under its cookie's id), one empty."""

    def __init__(self, kind: str, app: App, store) -> None:
        self.kind, self.app, self.store = kind, app, store
        self.rows_full: list[dict] = []
        self.rows_empty: list[dict] = []

    async def prepare(self, browser, conv: list[dict], failures: list) -> None:
        self.failures = failures
        self.full_ctx = await new_context(browser)
        self.empty_ctx = await new_context(browser)
        self.full, self.empty = await self.full_ctx.new_page(), await self.empty_ctx.new_page()
        await open_chat(self.full, self.app.url)
        await open_chat(self.empty, self.app.url)
        key = await browser_key(self.full_ctx)
        await browser_key(self.empty_ctx)
        written = saved_session(self.store, key)
        state = written.load()  # what the page saved so far: it must know, or it won't write
        state["chat_history"] = conv
        started = time.perf_counter()
        written.save(state)
        self.write_ms = (time.perf_counter() - started) * 1000
        if written.problem:
            raise RuntimeError(f"{self.kind}: store write failed: {written.problem}")
        if saved_session(self.store, key).load().get("chat_history") != conv:
            raise RuntimeError(f"{self.kind}: the conversation read back is not the one written")
        self.saved_bytes = len(CODEC.dumps(conv))
        await timed_reload(self.full, MESSAGES)  # warm-up: the first restore of this session
        await self.verify(self.full, MESSAGES, "warm-up")
        await timed_reload(self.empty, 0)

    async def verify(self, page, expected: int, label: str) -> None:
        state = await page.evaluate(PAGE_STATE_JS)
        marks = page_marks(state["texts"])
        if marks != list(range(1, expected + 1)):
            self.failures.append(f"reload/{self.kind}/{label}: messages on screen {marks[:8]}… "
                                 f"({len(marks)}), expected 1..{expected}")
        if state["exceptions"]:
            self.failures.append(f"reload/{self.kind}/{label}: {state['exceptions']} stException")

    async def round(self, i: int) -> None:
        pid = self.app.process.process.pid
        cpu = cpu_seconds(pid)
        self.rows_full.append(await timed_reload(self.full, MESSAGES))
        await asyncio.sleep(0.2)  # the run's last writes (the cookie script, the save)
        self.rows_full[-1]["app_cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000
        await self.verify(self.full, MESSAGES, f"reload {i + 1}")
        cpu = cpu_seconds(pid)
        self.rows_empty.append(await timed_reload(self.empty, 0))
        await asyncio.sleep(0.2)
        self.rows_empty[-1]["app_cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000
        await self.verify(self.empty, 0, f"empty reload {i + 1}")
        print(f"  {self.kind:6s} reload {i + 1}: 50 messages {self.rows_full[-1]['restored_s']:.3f} s "
              f"(run over {self.rows_full[-1]['ready_s']:.3f} s), empty session: run over "
              f"{self.rows_empty[-1]['ready_s']:.3f} s; loadavg {loadavg()}", flush=True)

    async def close(self) -> None:
        for context in (getattr(self, "full_ctx", None), getattr(self, "empty_ctx", None)):
            if context is not None:
                await context.close()

    def result(self) -> dict:
        col = lambda rows, name: [r[name] for r in rows]  # noqa: E731
        full, empty = self.rows_full, self.rows_empty
        return {"store": self.store.description.split(" ")[0], "saved_json_bytes": self.saved_bytes,
                "bench_write_ms": round(self.write_ms, 2),
                "restored_s": summary(col(full, "restored_s")),
                "restored_from_call_s": summary(col(full, "from_call_s")),
                "heading_s": summary(col(full, "heading_s")),
                "ready_s": summary(col(full, "ready_s")),
                "empty_heading_s": summary(col(empty, "heading_s")),
                "empty_ready_s": summary(col(empty, "ready_s")),
                "empty_ready_from_call_s": summary(col(empty, "from_call_s")),
                "app_cpu_ms_per_reload": summary(col(full, "app_cpu_ms"), 0),
                "empty_app_cpu_ms_per_reload": summary(col(empty, "app_cpu_ms"), 0)}


async def part_reload(browser, subjects: list[ReloadSubject], reloads: int, failures: list) -> dict:
    """Both stores' apps side by side, their reloads interleaved, so that both see the same
    machine load (it is shared)."""
    conv = conversation()
    try:
        for subject in subjects:
            await subject.prepare(browser, conv, failures)
        for i in range(reloads):
            for subject in (subjects if i % 2 == 0 else subjects[::-1]):
                await subject.round(i)
    finally:
        for subject in subjects:
            await subject.close()
    return {subject.kind: subject.result() for subject in subjects}
