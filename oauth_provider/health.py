"""Whether leads flow to a connected application: shown on the connected-apps page.

The deliveries and the webhook URL belong to the apps above this one, which this app
must not import: `leads` registers the provider when it is ready (leads/apps.py), and
the page asks through `connections_health`.
"""

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .models import Connection


class DeliveryStatus(enum.StrEnum):
    NOT_SET_UP = "not_set_up"  # the application has not said where to send leads
    ACTIVE = "active"
    PAUSED_GONE = "paused_gone"  # the endpoint answered 410 Gone
    PAUSED = "paused"  # for another reason: Real Geeks staff paused it


@dataclass(frozen=True)
class ConnectionHealth:
    status: DeliveryStatus
    # The webhook URL's host only: its path or query may hold the partner's tokens.
    endpoint_host: str = ""
    paused_at: datetime | None = None
    last_delivered: datetime | None = None
    # Deliveries given up, or waiting for a retry after a failed attempt, in the last 24 hours.
    recent_failures: int = 0


@dataclass(frozen=True)
class ConnectedApp:
    """A row of the connected-apps page; `health` is None when no provider knows it."""

    connection: Connection
    health: ConnectionHealth | None


# Given connections, the health of each that it knows, by connection id; in a fixed number
# of queries, whatever the number of connections.
HealthProvider = Callable[[Sequence[Connection]], Mapping[int, ConnectionHealth]]

_providers: list[HealthProvider] = []


def register_health_provider(provider: HealthProvider) -> None:
    """Called once per process by the app that owns deliveries (leads/apps.py)."""
    if provider not in _providers:
        _providers.append(provider)


def connections_health(connections: Sequence[Connection]) -> dict[int, ConnectionHealth]:
    """What the registered providers know; a connection none knows has no entry."""
    health: dict[int, ConnectionHealth] = {}
    if connections:
        for provider in _providers:
            health.update(provider(connections))
    return health
