"""The deployment's caps for the Structured Outputs page, without Streamlit: every request
is admitted before it is sent (a JSON-mode fallback too) and recorded after, by the rule the
chat page uses (lib.chat.turn.request_cost): a request the provider answered, or one sent
and then given up on, is billable; a refusal (4xx, 5xx, nothing listening) is not. Missing
usage is estimated from the text rather than priced at $0."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Callable

from lib.chat.streaming import estimate_tokens
from lib.chat.turn import Account, settle_request
from lib.cost.pricing import usage_cost
from lib.structured.modes import ModeResult

Admit = Callable[[int], "str | None"]  # pending requests -> why not, or None


def request_cost(model: str, result: ModeResult, bills_usage: bool) -> Decimal | None:
    """What the request cost: free when the endpoint does not bill or the provider refused
    it; on estimated tokens when the provider gave no usage. None when no price is known."""
    if not bills_usage or not result.billable:
        return Decimal(0)
    prompt, completion = result.prompt_tokens, result.completion_tokens
    if prompt is None or completion is None:
        result.usage_is_estimate = True
        if prompt is None:
            messages = (result.request_body or {}).get("messages") or []
            prompt = estimate_tokens(json.dumps(messages, ensure_ascii=False))
        if completion is None:
            completion = estimate_tokens(result.text or "")
    return usage_cost(model, prompt, completion)


class RequestMeter:
    """Admits and records the requests of one page run to one model.

    ``admit(pending)`` is the deployment's policy (lib.ui.session.admit); ``account`` is
    None when the key is not the deployment's (nothing to count). Safe from any thread."""

    def __init__(self, model: str, admit: Admit, account: Account | None,
                 bills_usage: bool) -> None:
        self.model = model
        self._admit = admit
        self._account = account
        self._bills = bills_usage
        self._lock = threading.Lock()
        self.pending = 0  # let through and not yet settled
        self.sent = 0
        self.recorded = 0

    def admit(self) -> str | None:
        with self._lock:
            why_not = self._admit(self.pending)
            if why_not is None:
                self.pending += 1
                self.sent += 1
            return why_not

    def settle(self, result: ModeResult) -> None:
        cost = request_cost(self.model, result, self._bills)
        result.cost_usd = cost
        with self._lock:
            if self._account is not None:
                settle_request(self._account, self.model, result.billable, cost)
                self.recorded += result.billable
            self.pending = max(0, self.pending - 1)
