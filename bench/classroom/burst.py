"""classroom_mode.py part 3: a class at once. N sessions on ONE app (SQLite) press Enter
together, each reloads as soon as its answer is on screen, and every session's save is watched
until it has landed; then the pages, the store and the fault server are checked."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from pathlib import Path

from classroom.browser import CHAT_INPUT, SIDEBAR, TOKEN_RE, TOPICS, gather_limited, open_chat, pick_model, short
from classroom.burst_watch import OK_TEXT, TURN_WATCH, SaveWatch, WireClock
from classroom.cpu_memory import cpu_seconds, renice_browser
from classroom.mode_servers import GC_ENV, App
from classroom.mode_stats import loadavg, summary
from classroom.servers import TimedFaultServer
from classroom.sessions import PAGE_STATE_JS, browser_key, new_context, saved_session, timed_reload
from lib.persistence.browser import COOKIE, new_browser_id, session_key
from lib.persistence.sqlite_store import SQLiteStore
from lib.what_is_saved import CODEC, SAVED_KEYS


async def part_class(browser, workdir: Path, n: int, failures: list, deadline_at: float,
                     browser_nice: int) -> dict:
    db_path = workdir / "class-sessions.sqlite3"
    result: dict = {"sessions": n}
    with TimedFaultServer(history=2000) as fault:
        app = App("class", workdir, {**GC_ENV, "OPENAI_BASE_URL": fault.base_url,
                                     "OPENAI_API_KEY": f"sk-bench-{secrets.token_hex(8)}",
                                     "LAB_STORE_URL": f"sqlite:///{db_path}"})
        result["app_start_s"] = app.start_s
        contexts: list = []
        watch = None
        store = SQLiteStore(db_path)
        try:
            # One session alone first, all through the UI: it picks model "ok" (which the app
            # saves), asks, and reloads. The process warms up, and it is the baseline.
            t0 = time.monotonic()
            alone = await new_context(browser, animations=False)
            contexts.append(alone)
            page = await alone.new_page()
            await open_chat(page, app.url)
            await pick_model(page, "ok")
            alone_key = await browser_key(alone)
            alone_prompt = f"session-99-{secrets.token_hex(3)}: tell me one fact about clouds."
            await page.locator(CHAT_INPUT).fill(alone_prompt)
            await page.evaluate(TURN_WATCH)
            await page.locator(CHAT_INPUT).press("Enter")
            await asyncio.wait_for(page.evaluate("() => window.__turn.finished"), 90)
            turn = await page.evaluate("() => window.__turn")
            reload = await timed_reload(page, 2)
            texts = (await page.evaluate(PAGE_STATE_JS))["texts"]
            if len(texts) != 2 or alone_prompt not in texts[0] or OK_TEXT not in texts[1]:
                failures.append(f"class: the session alone after its reload: {texts!r:.300}")
            result["alone"] = {"answer_on_screen_s": round((turn["done"] - turn["enter"]) / 1000, 3),
                               "reload_restored_s": round(reload["restored_s"], 3),
                               "wall_s": round(time.monotonic() - t0, 1)}
            saved = saved_session(store, alone_key).load()
            settings = {k: v for k, v in saved.items() if SAVED_KEYS.find(k).setting}
            if not any(v == "ok" for k, v in settings.items() if k.startswith("lab_model_")):
                raise RuntimeError(f"the app did not save the model picked: {settings}")
            await alone.close()
            contexts.remove(alone)

            # The class: each browser gets its id (the cookie the app's script would set) and
            # those settings, written through the store API, so its first page already has
            # model "ok" (one page load each instead of a pick: the harness shares 2 cores).
            ids = [new_browser_id() for _ in range(n)]
            keys = [session_key(browser_id) for browser_id in ids]
            for key in keys:
                seeded = saved_session(store, key, new_browser=True)
                seeded.save(settings)
                if seeded.problem:
                    raise RuntimeError(f"seeding the class's settings: {seeded.problem}")
            contexts = [await new_context(browser, animations=False) for _ in range(n)]
            for context, browser_id in zip(contexts, ids):
                await context.add_cookies([{"name": COOKIE, "value": browser_id, "url": app.url}])
            pages = [await c.new_page() for c in contexts]
            for page in pages:
                page.set_default_timeout(60_000)
            tokens = [f"session-{i:02d}-{secrets.token_hex(3)}" for i in range(n)]
            prompts = [f"{tokens[i]}: tell me one fact about {TOPICS[i % len(TOPICS)]}." for i in range(n)]

            async def setup(i: int) -> None:
                from playwright.async_api import expect

                await open_chat(pages[i], app.url)
                select = pages[i].locator(f'{SIDEBAR} [data-testid="stSelectbox"]').filter(
                    has=pages[i].get_by_text("Model", exact=True))
                await expect(select.locator("input")).to_have_value("ok", timeout=30_000)
                if await browser_key(contexts[i]) != keys[i]:
                    raise RuntimeError("the page's cookie is not the browser id it was given")
                await pages[i].locator(CHAT_INPUT).fill(prompts[i])
                await pages[i].evaluate(TURN_WATCH)

            t0 = time.monotonic()
            outcomes = await gather_limited(8, [setup(i) for i in range(n)])
            live = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
            for i, o in enumerate(outcomes):
                if isinstance(o, BaseException):
                    failures.append(f"class: session {i} setup: {short(o)}")
            result["setup_s"] = round(time.monotonic() - t0, 1)
            clocks = {i: WireClock(tokens[i], OK_TEXT) for i in live}
            for i in live:
                await clocks[i].attach(pages[i])
            print(f"  alone first: {result['alone']}; {len(live)} sessions open in "
                  f"{result['setup_s']} s; loadavg {loadavg()}", flush=True)
            fault.clear()

            watch = SaveWatch(db_path, {keys[i]: prompts[i] for i in live}, app.process.process.pid)
            watch.start()
            rows: dict[int, dict] = {}
            bad: set[int] = set()

            stage = {i: "answering" for i in live}
            answers: dict[int, dict] = {}

            async def one(i: int) -> None:
                page = pages[i]
                await asyncio.wait_for(page.evaluate("() => window.__turn.finished"), 150)
                answers[i] = await page.evaluate("() => window.__turn")
                stage[i] = "reloading"
                clocks[i].arm_reload()
                reload = await timed_reload(page, 2, timeout=150_000)
                stage[i] = "checking"
                state = await page.evaluate(PAGE_STATE_JS)
                problems = []
                texts = state["texts"]
                if len(texts) != 2:
                    problems.append(f"{len(texts)} messages after the reload")
                if not texts or prompts[i] not in texts[0]:
                    problems.append(f"question not its own: {texts[:1]!r:.200}")
                if len(texts) < 2 or OK_TEXT not in texts[1]:
                    problems.append(f"answer {texts[1:2]!r:.200}")
                if (seen := set(TOKEN_RE.findall(state["dom"]))) != {tokens[i]}:
                    problems.append(f"tokens in the page {sorted(seen)}")
                if state["exceptions"]:
                    problems.append(f"{state['exceptions']} stException")
                if problems:
                    failures.append(f"class: session {i}: " + "; ".join(problems))
                    bad.add(i)
                rows[i] = reload

            if browser_nice:
                # Every thread of this process's descendants outside the app's tree: the browser,
                # as main_async has stopped the other servers (the fault server's process, Redis).
                result["browser_threads_reniced"] = renice_browser(app.process.process.pid, browser_nice)
            app_cpu = cpu_seconds(app.process.process.pid)
            enter_at = time.time()
            await asyncio.gather(*(pages[i].locator(CHAT_INPUT).press("Enter") for i in live))
            tasks = {asyncio.create_task(one(i)): i for i in live}
            pending = set(tasks)
            burst_budget = max(20.0, deadline_at - time.monotonic() - 45)  # room for the checks
            while pending:  # progress every 10 s; what is still pending at the budget is reported
                wait = min(10.0, max(0.1, burst_budget - (time.time() - enter_at)))
                finished, pending = await asyncio.wait(pending, timeout=wait)
                for task in finished:
                    if task.exception() is not None:
                        failures.append(f"class: session {tasks[task]} {stage[tasks[task]]}: "
                                        f"{short(task.exception())}")
                        bad.add(tasks[task])
                for task in finished:
                    if task.exception() is None:
                        stage[tasks[task]] = "ok"
                counts = Counter(stage.values())
                print(f"  +{time.time() - enter_at:5.1f} s: {dict(counts)}, saves landed {len(watch.landed)}; "
                      f"loadavg {loadavg()}", flush=True)
                if pending and time.time() - enter_at >= burst_budget:
                    for task in pending:
                        task.cancel()
                        failures.append(f"class: session {tasks[task]} still {stage[tasks[task]]} "
                                        f"after {burst_budget:.0f} s")
                        bad.add(tasks[task])
                    await asyncio.gather(*pending, return_exceptions=True)
                    break
            deadline = time.monotonic() + 30
            while len(watch.landed) < len(live) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            watch.finish()
            result["burst_wall_s"] = round(time.time() - enter_at, 2)
            result["app_cpu_s_burst"] = round(cpu_seconds(app.process.process.pid) - app_cpu, 2)
            if watch.app_cpu_all_landed is not None:  # the 30 turns; the rest is mostly the reloads
                result["app_cpu_s_until_all_saved"] = round(watch.app_cpu_all_landed - app_cpu, 2)
            result["loadavg_after_burst"] = loadavg()
            if len(watch.landed) != len(live):
                failures.append(f"class: {len(watch.landed)} of {len(live)} saves landed")
            if watch.errors:
                failures.append(f"class: save watch: {watch.errors[:3]}")

            # The store through its own API: each browser holds its own conversation, and no
            # saved value of any browser carries another's token.
            for i in live:
                saved = saved_session(store, keys[i]).load()
                history = saved.get("chat_history")
                if [m.get("content") for m in history or []] != [prompts[i], OK_TEXT]:
                    failures.append(f"class: session {i}: saved {history!r:.200}")
                    bad.add(i)
                found = set(TOKEN_RE.findall(" ".join(CODEC.dumps(SAVED_KEYS.find(k).save(v))
                                                 for k, v in saved.items())))
                if found - {tokens[i]}:
                    failures.append(f"class: session {i}: other tokens saved {sorted(found)}")
                    bad.add(i)

            posts = [r for r in fault.requests
                     if r.method == "POST" and r.path.rstrip("/") == "/v1/chat/completions"]
            per_request = [TOKEN_RE.findall(json.dumps((r.body or {}).get("messages"))) for r in posts]
            counts = Counter(t for found in per_request for t in found)
            result["server_chat_requests"] = len(posts)
            if len(posts) != len(live) or any(len(f) != 1 for f in per_request) \
                    or set(counts) != {tokens[i] for i in live} or any(c != 1 for c in counts.values()):
                failures.append(f"class: the server got {len(posts)} requests, tokens {dict(counts)}")

            enters = [answers[i]["enter"] for i in answers if answers[i]["enter"]]
            landed = [watch.landed[keys[i]] - enter_at for i in live if keys[i] in watch.landed]
            lag = [watch.landed[keys[i]] - answers[i]["done"] / 1000 for i in answers
                   if keys[i] in watch.landed]
            result.update(
                ok_sessions=len(set(live) - bad),
                send_spread_s=round((max(enters) - min(enters)) / 1000, 3) if enters else None,
                answer_on_screen_s=summary([(answers[i]["done"] - enter_at * 1000) / 1000 for i in answers]),
                saves_landed_s=summary(landed),
                all_saves_landed_s=round(max(landed), 3) if landed else None,
                request_at_server_s=summary([fault.arrivals[tokens[i]] - enter_at for i in live
                                             if tokens[i] in fault.arrivals]),
                save_landed_minus_answer_on_screen_s=summary(lag),
                reload_restored_s=summary([rows[i]["restored_s"] for i in rows]),
                reload_restored_from_call_s=summary([rows[i]["from_call_s"] for i in rows]),
                answer_on_the_wire_s=summary([clocks[i].figures()[0] for i in live]),
                reload_restored_on_the_wire_s=summary([clocks[i].figures()[1] for i in live]),
            )
        finally:
            if watch:
                watch.finish()
            for context in contexts:
                try:
                    await context.close()
                except Exception:  # noqa: BLE001
                    pass
            store.close()
            app.close()
            count, first = app.tracebacks()
            result["log_tracebacks"] = count
            if count:
                failures.append(f"class: {count} Traceback(s) in the app log; first: {first}")
    return result
