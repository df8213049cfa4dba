"""Token metrics, exposed on `/metrics` through core's registry."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from prometheus_client import Counter

from core.metrics import REGISTRY

TOKENS_ISSUED = Counter(
    "realgeeks_oauth_tokens_issued",
    "Access tokens issued by the token endpoint, by grant type.",
    ["grant_type"],
    registry=REGISTRY,
)
GRANT_TYPES = ("authorization_code", "refresh_token")

# Every label value shows from the start (as 0), so rate() sees the first event.
for _grant_type in GRANT_TYPES:
    TOKENS_ISSUED.labels(_grant_type)


def count_token_issued(sender: object, request: HttpRequest, **kwargs: Any) -> None:
    """django-oauth-toolkit's `app_authorized` receiver: it fires once per 200 from the
    token endpoint, inside its transaction, so the count waits for the commit."""
    grant_type = request.POST.get("grant_type", "")
    label = grant_type if grant_type in GRANT_TYPES else "other"
    transaction.on_commit(TOKENS_ISSUED.labels(label).inc)
