"""What a shared deployment allows: one policy for every request on the deployment's keys.

A deployment on Streamlit Community Cloud is one process shared by a whole class, with the
instructor's key in its secrets. The policy guards that key; a key a student types is theirs.
Settings (secrets or environment):

- ``LAB_MAX_SPEND_USD_TOTAL``: dollars the deployment's keys may spend in this process, all
  sessions together. Held by the process (``LEDGER``), so reloading a page resets nothing.
- ``LAB_MAX_REQUESTS_PER_SESSION``, ``LAB_MAX_SPEND_USD_PER_SESSION``: per browser session,
  a courtesy that keeps one student from using everyone's budget.
- ``LAB_ALLOWED_MODELS``: comma-separated model ids (or a list in secrets).
- ``LAB_ALLOW_CUSTOM_URLS=1``: let visitors type a base URL (and use the local-server
  presets) even though the deployment has keys. Off by default on a deployment with keys,
  because the server would fetch any URL a visitor types and show what came back. Endpoints
  are resolved with this rule (``lib.config.custom_urls_allowed``), and a deployment's key
  never follows a typed URL in any case.
- ``LAB_ADMIN_PASSWORD``: shows the operator's view (budget, requests per model, sessions).

Spending caps price the provider's reported usage with genai-prices and refuse models with
no known price while a cap is set. Unreadable values fail closed: the key is off, and the
message says which setting to fix.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lib.config import Endpoint, setting

ACTIVE_SESSION_SECONDS = 600.0


def _parse(raw: Any, name: str, parse, problems: list[str]) -> Any:
    if raw is None:
        return None
    try:
        value = parse(str(raw).strip())
    except (ValueError, InvalidOperation):
        value = None
    if isinstance(value, Decimal) and not value.is_finite():
        value = None
    if value is None or value < 0:
        problems.append(f"{name}={raw!r} is not a number of 0 or more")
        return None
    return value


class SessionUsage:
    """What one browser session has used of the deployment's keys (a courtesy cap: a new
    session starts again at zero; the process's LEDGER does not). Thread-safe: the turn that
    records into it may be settled by another script run's thread."""

    def __init__(self, requests: int = 0, spent_usd: Decimal = Decimal(0)) -> None:
        self._lock = threading.Lock()
        self.requests = requests
        self.spent_usd = spent_usd

    def record(self, cost: Decimal) -> None:
        with self._lock:
            self.requests += 1
            self.spent_usd += cost


class Ledger:
    """Process-wide use of the deployment's keys: every session's requests and spend.

    One per process (``LEDGER``), shared by all sessions, updated under a lock. Nothing a
    browser does can reset it; a restart of the app does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spent_usd = Decimal(0)
        self.requests_by_model: Counter[str] = Counter()
        self._last_seen: dict[str, float] = {}

    def record(self, model: str, cost: Decimal) -> None:
        """One request on a deployment key reached the provider, and what it cost."""
        with self._lock:
            self.requests_by_model[model] += 1
            self.spent_usd += cost

    def seen(self, session_id: str, now: float | None = None) -> None:
        """Note that a browser session was active (for the operator's view)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._last_seen[session_id] = now
            for old in [s for s, t in self._last_seen.items() if now - t > ACTIVE_SESSION_SECONDS]:
                del self._last_seen[old]

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        with self._lock:
            return {
                "spent_usd": self.spent_usd,
                "requests_by_model": dict(self.requests_by_model.most_common()),
                "active_sessions": sum(1 for t in self._last_seen.values()
                                       if now - t <= ACTIVE_SESSION_SECONDS),
            }


LEDGER = Ledger()


@dataclass
class KeyAccount:
    """Where the requests of one session on the deployment's keys are recorded: that
    session's courtesy caps and the process's ledger. Plain Python, safe from any thread."""

    session: SessionUsage
    ledger: Ledger = LEDGER

    def record(self, model: str, cost: Decimal | None) -> None:
        cost = cost or Decimal(0)  # an unpriced model counts as a request, not as spend
        self.session.record(cost)
        self.ledger.record(model, cost)

    def release(self, model: str) -> None:
        """A request that was admitted never reached the provider (refused, nothing
        listening): nothing to count, and what was held back for it is free again."""


@dataclass(frozen=True)
class DeploymentPolicy:
    max_requests_per_session: int | None = None
    allowed_models: tuple[str, ...] = ()
    max_spend_per_session: Decimal | None = None
    max_spend_total: Decimal | None = None
    admin_password: str | None = field(default=None, repr=False)
    problems: tuple[str, ...] = ()  # settings that could not be read: the key is off

    @classmethod
    def from_settings(cls, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> DeploymentPolicy:
        problems: list[str] = []

        def number(name: str, parse) -> Any:
            return _parse(setting(secrets, environ, name), name, parse, problems)

        raw_models = setting(secrets, environ, "LAB_ALLOWED_MODELS") or ()
        if isinstance(raw_models, str):
            raw_models = raw_models.split(",")
        password = setting(secrets, environ, "LAB_ADMIN_PASSWORD")
        return cls(
            max_requests_per_session=number("LAB_MAX_REQUESTS_PER_SESSION", int),
            allowed_models=tuple(str(m).strip() for m in raw_models if str(m).strip()),
            max_spend_per_session=number("LAB_MAX_SPEND_USD_PER_SESSION", Decimal),
            max_spend_total=number("LAB_MAX_SPEND_USD_TOTAL", Decimal),
            admin_password=str(password) if password else None,
            problems=tuple(problems),
        )

    @staticmethod
    def guards(endpoint: Endpoint) -> bool:
        """The policy applies to requests on the deployment's keys only."""
        return endpoint.key_from_deployment

    @property
    def caps_spending(self) -> bool:
        return self.max_spend_per_session is not None or self.max_spend_total is not None

    def models_for(self, endpoint: Endpoint, models: tuple[str, ...]) -> tuple[str, ...]:
        if not (self.allowed_models and self.guards(endpoint)):
            return models
        return self.allowed_models

    def refusal(self, endpoint: Endpoint, model: str, session: SessionUsage,
                spent_total: Decimal = Decimal(0), price_known: bool = True,
                pending: int = 0) -> str | None:
        """Why this request may not be sent, or None. ``pending``: requests of this session
        already let through but not yet recorded (panes of one comparison)."""
        if not self.guards(endpoint):
            return None
        elsewhere = "Carry on with the built-in model, or a provider with your own key."
        if self.problems:
            return ("This deployment's limits are misconfigured "
                    f"({'; '.join(self.problems)}), so its shared key is off. Tell the "
                    "instructor; meanwhile use the built-in model or your own key.")
        if self.allowed_models and model not in self.allowed_models:
            return (f"This classroom deployment allows only: {', '.join(self.allowed_models)}. "
                    "Other models: pick the built-in model or a provider with your own key.")
        if self.caps_spending and not price_known:
            return (f"This deployment caps spending, and no price is known for {model!r}. "
                    "Pick a model with a listed price.")
        if self.max_spend_total is not None and spent_total >= self.max_spend_total:
            return ("The class has used this deployment's whole budget on the shared key "
                    f"(${self.max_spend_total}). {elsewhere}")
        if (self.max_requests_per_session is not None
                and session.requests + pending >= self.max_requests_per_session):
            return (f"This session has used its {self.max_requests_per_session} requests on "
                    f"the shared key. {elsewhere}")
        if (self.max_spend_per_session is not None
                and session.spent_usd >= self.max_spend_per_session):
            return (f"This session has spent ${session.spent_usd:.4f} of its "
                    f"${self.max_spend_per_session} on the shared key. {elsewhere}")
        return None

    def admits_admin(self, password: str) -> bool:
        import hmac

        return bool(self.admin_password) and hmac.compare_digest(
            password.encode(), self.admin_password.encode())
