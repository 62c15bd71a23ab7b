"""Classroom mode (issue 17, item 4): what saving each browser's work server-side costs.

Every page runs inside lib/ui/classroom.py `around_the_page`: a new session loads its
browser's saved work (cookie `hll_browser`), and every run saves what changed. Three parts,
on the real app (`streamlit run Home.py`) in headless Chromium, OPENAI_BASE_URL at the tests'
fault server:

1. Reload -> restored, 50 messages, SQLite (LAB_STORE_URL=sqlite:////file) and Redis
   (Debian's redis-server on 127.0.0.1), one app each, both running, their reloads
   interleaved (the machine is shared: both see the same load). Per app, one browser context
   opens /Streaming_Chat; its saved session is then given a 50-message conversation (25 user,
   25 assistant, 100-600 chars, the answers with their `usage` and the last with its
   `request`, as ChatTurn keeps them) through the real store API (`SavedSession.save` with
   the app's SAVED_KEYS and CODEC) under the browser's id from the context's cookie. Then
   --reloads times `page.reload()`, timed in the page by an init script's MutationObserver
   (performance.now(), 0 = the reload's navigation start): the lesson heading drawn, the
   50th [data-testid="stChatMessage"] with its text ("restored"; each reload also checks all
   50 are there in order), and the run over (chat input drawn, connected, script not
   running: the chat input only shows then). A second context, whose saved session holds
   no conversation, is reloaded alongside: the same marks.
2. Streaming with the store on (SQLite) vs LAB_STORE_URL=off, same conversation: each round
   is a fresh context that picks model "paced", max_tokens 2000, imports the 50-message
   conversation (the page's own JSON upload, the same for both apps) and asks; the fault
   server (its own process) streams 2,000 tokens at 200 tok/s. In the page (browser_stream.py's
   observer): tok/s = the rate the answer advanced on screen from token 200 to token 2000, and
   Enter -> last token. Rounds alternate on/off. Goal: tok/s on >= 0.95 x off. With the store
   on, a read-only connection polls SQLite's `PRAGMA data_version` every 20 ms and reads this
   browser's saved conversation at each commit: there must be exactly one commit in the turn,
   holding the complete answer (none while streaming), and the store then holds 52 messages;
   reported: when it landed relative to the last token on screen (negative: the page drew the
   last token after the save, i.e. the browser was behind).
   Then, in this process, one save's cost: `SavedSession.save` on a realistic session state
   (the settings the app saved in those rounds, the 50-message conversation, keys that are
   never saved) after a turn (two messages changed each time), median/p95 ms, on a fresh
   SQLite file and on the Redis server; also a save with nothing changed (what every rerun
   pays: every saved key is encoded to compare), a load, and the conversation's encoding alone.
3. 30 sessions writing at once on ONE app process (SQLite; in-process fault server, model
   "ok": five fast deltas). One session goes alone first through the UI (picks "ok", asks,
   reloads: warm-up and baseline); the settings the app saved for it are then written for 30
   new browser ids (the cookie the app's script would set, added to each context), so each
   page opens with "ok" picked. All press Enter together, each question carrying its own
   token ("session-07-3fa9c2"); each page reloads as soon as its own answer is on screen
   ("Finish reason"), while the others are still answering. A thread polls the SQLite file
   (read-only) until each session's saved conversation is [its question, the scripted
   answer]. Reported: request at the fault server, saves landed, all saves landed (from the
   common Enter), answer on screen, reload -> restored (both messages drawn) p50/p95, and the
   same two events as websocket frames reaching Chromium's network stack (CDP), before the
   renderer draws; the app's CPU seconds in the burst. Checks: each reloaded page, and each
   saved session (through SavedSession.load), hold their own token and no other; the server
   got one request per token; no stException; no Traceback in any app log. CSS animations
   are off in these 30 pages, and from the Enter on Chromium runs at nice 19 (--browser-nice;
   classroom_load.py does the same): the harness's 30 renderers share the 2 cores with the
   app, and a class brings its own laptops.

Each reload also notes the app's CPU time it cost (/proc, 10 ms ticks). About half of it is
Streamlit's `gc.collect(2)` after every script run (runner.postScriptGC, on by default);
--no-post-script-gc runs the apps without it, for comparison.

Only 127.0.0.1 is contacted. Bounded: each part has a budget (what is still pending when it
runs out is reported), and a watchdog kills the apps, Redis and the fault server and exits at
--deadline + 30 s (default deadline 570 s). The load average is printed along the way.

Usage: .venv/bin/python bench/classroom_mode.py [--parts 1,2,3] [--reloads 7] [--rounds 4]
       [--sessions 30] [--saves 200] [--deadline 570] [--browser-nice 19]
       [--no-post-script-gc] [--keep]
Last line JSON: {"reload": {"sqlite": {...}, "redis": {...}}, "stream": {...}, "save": {...},
"class": {...}, "ok": bool, "failures": [...], "loadavg": {...}, "part_wall_s", "wall_s"};
times in s unless named _ms; each figure {p50, p90, p95, max, n} (nearest-rank).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # bench/classroom/ (as a script, bench/ is sys.path[0] already)

# The parts and their helpers are in bench/classroom/ (the browser, page driving, /proc
# reading and statistics shared with classroom_load.py); the run itself is classroom/mode_run.py.
from classroom.mode_run import main_async  # noqa: E402
from classroom.mode_servers import GC_ENV, RUNNING  # noqa: E402
from classroom.mode_stats import loadavg  # noqa: E402


def compact(results: dict) -> dict:
    """The JSON line: without the per-reload lists ("all", at any depth; classroom_load's
    compact keeps its per-session lists and drops only the RSS marks, which this has none of)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "all"}
        return value
    return strip(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3")
    parser.add_argument("--reloads", type=int, default=7, help="timed reloads per store (>= 5)")
    parser.add_argument("--rounds", type=int, default=4, help="streaming rounds, store on and off each")
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--saves", type=int, default=200, help="in-process saves per store")
    parser.add_argument("--deadline", type=float, default=570.0, help="hard stop, seconds")
    parser.add_argument("--browser-nice", type=int, default=19,
                        help="part 3: niceness of Chromium during the burst (0: same priority as the app)")
    parser.add_argument("--no-post-script-gc", action="store_true",
                        help="run the apps with runner.postScriptGC off (Streamlit's full gc.collect "
                             "after every script run), to see what it costs")
    parser.add_argument("--keep", action="store_true", help="keep the apps' logs and stores")
    args = parser.parse_args()
    if args.no_post_script_gc:
        GC_ENV["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "false"
    if args.sessions > 99:
        raise SystemExit("at most 99 sessions (two-digit tokens)")

    def watchdog() -> None:  # last resort: stop every server this run started, then exit
        for process in list(RUNNING):
            try:
                pid = process.pid if isinstance(process, subprocess.Popen) else process.process.pid
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        print(json.dumps({"ok": False, "error": f"watchdog: over {args.deadline + 30:.0f} s",
                          "loadavg": loadavg()}), flush=True)
        os._exit(3)
    timer = threading.Timer(args.deadline + 30, watchdog)
    timer.daemon = True
    timer.start()
    results = asyncio.run(main_async(args))
    timer.cancel()
    print(f"\nok {results['ok']}; failures {len(results['failures'])}; wall {results['wall_s']} s "
          f"(parts {results['part_wall_s']}); load average (1, 5, 15 min) {results['loadavg']}")
    for failure in results["failures"][:20]:
        print(f"  - {failure}")
    print(json.dumps(compact(results)))


if __name__ == "__main__":
    main()
