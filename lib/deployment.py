"""Limits for a shared classroom deployment, applied per browser session.

They guard the deployment's own keys (from secrets or the environment); a key a student
types in the sidebar is theirs to spend. Settings (secrets or environment):

- ``LAB_MAX_REQUESTS_PER_SESSION``: chat requests one browser session may send.
- ``LAB_ALLOWED_MODELS``: comma-separated model ids (or a list in secrets).
- ``LAB_MAX_SPEND_USD_PER_SESSION``: dollars one browser session may spend, priced from
  the provider's reported usage with genai-prices; models with no known price are refused
  while this cap is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lib.config import Endpoint, setting


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


@dataclass(frozen=True)
class ClassroomLimits:
    max_requests: int | None = None
    allowed_models: tuple[str, ...] = ()
    max_spend_usd: Decimal | None = None
    problems: tuple[str, ...] = ()  # settings that could not be read: the caps fail closed

    @classmethod
    def from_settings(cls, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> ClassroomLimits:
        problems: list[str] = []
        max_requests = _parse(setting(secrets, environ, "LAB_MAX_REQUESTS_PER_SESSION"),
                              "LAB_MAX_REQUESTS_PER_SESSION", int, problems)
        max_spend = _parse(setting(secrets, environ, "LAB_MAX_SPEND_USD_PER_SESSION"),
                           "LAB_MAX_SPEND_USD_PER_SESSION", Decimal, problems)
        raw_models = setting(secrets, environ, "LAB_ALLOWED_MODELS") or ()
        if isinstance(raw_models, str):
            raw_models = raw_models.split(",")
        models = tuple(str(m).strip() for m in raw_models if str(m).strip())
        return cls(max_requests, models, max_spend, tuple(problems))

    def applies_to(self, endpoint: Endpoint) -> bool:
        return endpoint.key_from_deployment

    def models_for(self, endpoint: Endpoint, models: tuple[str, ...]) -> tuple[str, ...]:
        if not (self.allowed_models and self.applies_to(endpoint)):
            return models
        return self.allowed_models

    def refusal(
        self, endpoint: Endpoint, model: str, requests_sent: int,
        spent_usd: Decimal = Decimal(0), price_known: bool = True,
    ) -> str | None:
        """Why this request may not be sent, or None."""
        if not self.applies_to(endpoint):
            return None
        if self.problems:
            return ("This deployment's classroom limits are misconfigured "
                    f"({'; '.join(self.problems)}), so its shared key is off. Tell the "
                    "instructor; meanwhile use the built-in model or your own key.")
        if self.allowed_models and model not in self.allowed_models:
            return (f"This classroom deployment allows only: {', '.join(self.allowed_models)}. "
                    "Other models: pick the built-in model or a provider with your own key.")
        if self.max_requests is not None and requests_sent >= self.max_requests:
            return (f"This session has used its {self.max_requests} requests on the shared key. "
                    "Carry on with the built-in model, or a provider with your own key.")
        if self.max_spend_usd is not None:
            if not price_known:
                return (f"This deployment caps spending, and no price is known for {model!r}. "
                        "Pick a model with a listed price.")
            if spent_usd >= self.max_spend_usd:
                return (f"This session has spent ${spent_usd:.4f} of its ${self.max_spend_usd} "
                        "on the shared key. Carry on with the built-in model, or your own key.")
        return None
