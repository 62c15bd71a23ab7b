"""What a shared deployment allows: one policy for every request on the deployment's keys.

A deployment on Streamlit Community Cloud is one process shared by a whole class, with the
instructor's key in its secrets. The policy guards that key; a key a student types is theirs.
Settings (secrets or environment):

- ``LAB_MAX_SPEND_USD_TOTAL``: dollars the deployment's keys may spend, all sessions
  together, kept by the shared ledger (lib/ledger: this process's, or Redis's for every
  replica with ``LAB_LEDGER_URL``), so reloading a page resets nothing. Each request holds
  the most it can cost against it until it is answered, so racing sessions can't overspend.
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

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from lib.config import Endpoint, setting
from lib.cost.pricing import usage_cost
if TYPE_CHECKING:
    from lib.ledger.accounts import KeyAccount

# The most a request may cost is reserved before it is sent; a caller that can't say how
# long its prompt or answer may be is assumed to send this many tokens and ask this many.
UNKNOWN_PROMPT_TOKENS = 2_000
UNKNOWN_MAX_TOKENS = 1_024
PAUSED = ("The class's shared budget can't be checked right now (its ledger is not "
          "answering), so the shared key is paused. Use the built-in model or your own key; "
          "the instructor can see why in the app's log.")


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
    session starts again at zero; the shared ledger does not). Thread-safe: the turn that
    records into it may be settled by another script run's thread."""

    def __init__(self, requests: int = 0, spent_usd: Decimal = Decimal(0)) -> None:
        self._lock = threading.Lock()
        self.requests = requests
        self.spent_usd = spent_usd

    def record(self, cost: Decimal) -> None:
        with self._lock:
            self.requests += 1
            self.spent_usd += cost


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

    def admit(self, endpoint: Endpoint, model: str, account: KeyAccount, pending: int = 0,
              prompt_tokens: int | None = None, max_tokens: int | None = None) -> str | None:
        """Why this request may not be sent, or None, having then reserved the most it can
        cost on the class's budget, held by ``account`` (lib/ledger/accounts.py) until the
        request is recorded or released there. Raises LedgerUnavailable when the ledger
        can't be asked (the caller fails closed)."""
        if not self.guards(endpoint):
            return None
        session, ledger = account.session, account.ledger
        price_known = usage_cost(model, 0, 0) is not None if self.caps_spending else True
        budget = self.max_spend_total
        spent = ledger.spent_usd() if budget is not None else Decimal(0)
        why_not = self.refusal(endpoint, model, session, spent, price_known, pending)
        if why_not or budget is None:
            return why_not
        answer = UNKNOWN_MAX_TOKENS if max_tokens is None else max_tokens
        most = most_it_can_cost(model, prompt_tokens, max_tokens)
        reservation = ledger.reserve(most, budget)
        if reservation is None:
            left = max(Decimal(0), budget - spent)
            return (f"The class's budget on the shared key can't cover this request: it could "
                    f"cost up to ${most:.4f} ({answer:,} tokens of answer at most), and "
                    f"${left:.4f} is left, less what answers still coming will cost. Lower Max "
                    "tokens, or carry on with the built-in model or your own key.")
        account.hold(model, reservation)
        return None

    def admits_admin(self, password: str) -> bool:
        import hmac

        return bool(self.admin_password) and hmac.compare_digest(
            password.encode(), self.admin_password.encode())


def most_it_can_cost(model: str, prompt_tokens: int | None, max_tokens: int | None) -> Decimal:
    """A request's price if its prompt is ``prompt_tokens`` long and the answer uses every
    token ``max_tokens`` allows (unknown sizes: UNKNOWN_PROMPT_TOKENS, UNKNOWN_MAX_TOKENS)."""
    return usage_cost(model, UNKNOWN_PROMPT_TOKENS if prompt_tokens is None else prompt_tokens,
                      UNKNOWN_MAX_TOKENS if max_tokens is None else max_tokens) or Decimal(0)


def prompt_tokens_of(messages: list) -> int:
    """About how many tokens ``messages`` are (OpenAI's o200k tokenizer, on their JSON: a
    little more than the model reads, which is the side to err on for a reservation)."""
    from lib.chat.streaming import estimate_tokens  # the tokenizer, loaded on first use

    return estimate_tokens(json.dumps(messages, ensure_ascii=False, default=str))
