import dataclasses
from datetime import datetime

from core.db import prepared_cursor
from oauth_provider.selectors import (
    BEARER_COLUMNS,
    BEARER_TABLES,
    BEARER_WIDTH,
    BearerToken,
    bearer_token_from_row,
    token_checksum,
)


@dataclasses.dataclass(frozen=True, slots=True)
class SubscriptionState:
    """What the Subscription API answers a GET from: the row's columns, the secret still
    encrypted."""

    pk: int
    url: str
    secret_encrypted: str
    active: bool
    deactivated_at: datetime | None
    deactivated_reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class SubscriptionBearerToken(BearerToken):
    """A bearer token with the subscription of its site for its application, if any."""

    subscription: SubscriptionState | None


# The subscription joined on the token's own site: a token reaches no other
# (PartnerCanReachSite), so this is the one the path can name.
_SUBSCRIPTION_BEARER_TOKEN = f"""
    SELECT {BEARER_COLUMNS},
        sub.id, sub.url, sub.secret_encrypted, sub.active, sub.deactivated_at,
        sub.deactivated_reason
    FROM {BEARER_TABLES}
    LEFT JOIN subscriptions_subscription AS sub
        ON sub.site_id = t.site_id AND sub.application_id = t.application_id
    WHERE t.token_checksum = %s"""  # noqa: S608 (constants)


def subscription_bearer_token(*, token: str) -> SubscriptionBearerToken | None:
    """The presented bearer token, its site and its subscription, in one indexed query
    (a subscription GET's only round trip); None if the token is unknown."""
    with prepared_cursor() as cursor:
        cursor.execute(_SUBSCRIPTION_BEARER_TOKEN, [token_checksum(token)])
        row = cursor.fetchone()
    if row is None:
        return None
    columns = row[BEARER_WIDTH:]
    subscription = None if columns[0] is None else SubscriptionState(*columns)
    return bearer_token_from_row(row, kind=SubscriptionBearerToken, subscription=subscription)
