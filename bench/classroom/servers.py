"""What both classroom benchmarks run the app against: the tests' fault server, also noting
when each session's request reached it, and an environment without inherited LAB_* settings."""

from __future__ import annotations

import json
import os
import time

from classroom.browser import TOKEN_RE
from tests.servers.fault_server import FaultServer


class TimedFaultServer(FaultServer):
    """The fault server, also noting when each session's chat request arrived (epoch s)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.arrivals: dict[str, float] = {}

    def record(self, request) -> None:
        if request.method == "POST" and isinstance(request.body, dict):
            for token in TOKEN_RE.findall(json.dumps(request.body.get("messages"))):
                self.arrivals.setdefault(token, time.time())
        super().record(request)


def base_env(overrides: dict) -> dict:
    """No LAB_* settings inherited from whoever runs this; OPENAI_* etc. are stripped by start_app."""
    env = {name: None for name in os.environ if name.startswith("LAB_")}
    env.update(overrides)
    return env
