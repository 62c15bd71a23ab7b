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

from lib.config import Endpoint


def _setting(secrets: Mapping[str, Any], environ: Mapping[str, str], name: str) -> Any:
    try:
        value = secrets.get(name)
    except Exception:
        value = None
    return value if value not in (None, "") else environ.get(name)


@dataclass(frozen=True)
class ClassroomLimits:
    max_requests: int | None = None
    allowed_models: tuple[str, ...] = ()
    max_spend_usd: Decimal | None = None

    @classmethod
    def from_settings(cls, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> ClassroomLimits:
        raw_max = _setting(secrets, environ, "LAB_MAX_REQUESTS_PER_SESSION")
        raw_models = _setting(secrets, environ, "LAB_ALLOWED_MODELS") or ()
        if isinstance(raw_models, str):
            raw_models = raw_models.split(",")
        try:
            max_requests = int(raw_max) if raw_max not in (None, "") else None
        except (TypeError, ValueError):
            max_requests = None
        raw_spend = _setting(secrets, environ, "LAB_MAX_SPEND_USD_PER_SESSION")
        try:
            max_spend = Decimal(str(raw_spend)) if raw_spend not in (None, "") else None
        except InvalidOperation:
            max_spend = None
        models = tuple(str(m).strip() for m in raw_models if str(m).strip())
        return cls(max_requests, models, max_spend)

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
