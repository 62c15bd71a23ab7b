"""`python -m lib.serve --model gemma-3-270m`: the base model for any OpenAI client, and the
snippet it prints (completions, not chat) really runs."""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from pathlib import Path

from tests.servers.processes import ServerProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-lab-serve-base-test"


def test_the_printed_snippet_continues_the_text(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    process = ServerProcess([sys.executable, "-m", "lib.serve", "--model", "gemma-3-270m",
                             "--port", str(port), "--threads", "1", "--api-key", KEY],
                            log, env=dict(os.environ), cwd=REPO_ROOT)
    try:
        process.wait_until_ready(f"http://127.0.0.1:{port}/health", timeout=120)
        for _ in range(100):  # the server answers /health a moment before the text is out
            printed = log.read_text()
            if "Ctrl-C stops it" in printed:
                break
            time.sleep(0.1)
        assert "a base model: use completions" in printed
        snippet = textwrap.dedent(re.search(r"\n\n(    from openai.*?print\(.*?\))\n", printed,
                                            re.S).group(1))
        assert "completions.create" in snippet and "chat" not in snippet
        captured: list[str] = []
        exec(snippet, {"print": captured.append})  # the user's copy-paste, run as is
        assert captured and captured[0].strip()
    finally:
        process.stop()
