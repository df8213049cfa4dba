"""Whether leads flow to each connected application, for the connected-apps page.

`oauth_provider` shows the page but sits below the subscriptions and deliveries it needs:
this provider is registered with it in leads/apps.py.
"""

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from oauth_provider.health import ConnectionHealth, DeliveryStatus
from oauth_provider.models import Connection
from subscriptions.models import DEACTIVATED_BY_410, Subscription

from .models import Delivery, DeliveryState

RECENT = timedelta(hours=24)


def connections_health(connections: Sequence[Connection]) -> dict[int, ConnectionHealth]:
    """The health of each connection, by its id, in one query whatever their number: their
    subscriptions, each with subqueries on the deliveries' (subscription, state) index."""
    since = timezone.now() - RECENT
    deliveries = Delivery.objects.filter(subscription=OuterRef("pk"))
    last_delivered = (
        deliveries.filter(state__in=[DeliveryState.DELIVERED, DeliveryState.IGNORED])
        .order_by("-finished")
        .values("finished")[:1]
    )
    # Given up, or waiting for a retry after a failed attempt: on the retry schedule a
    # failing delivery is days from being given up. One state each, for the index.
    given_up = deliveries.filter(state=DeliveryState.FAILED, finished__gte=since)
    retrying = deliveries.filter(state=DeliveryState.PENDING, attempts__gt=0, updated__gte=since)
    subscriptions = (
        Subscription.objects.filter(
            site_id__in={connection.site_id for connection in connections},
            application_id__in={connection.application_id for connection in connections},
        )
        .annotate(
            last_delivered=Subquery(last_delivered),
            recent_failures=_count(given_up) + _count(retrying),
        )
        .only("site_id", "application_id", "url", "active", "deactivated_at", "deactivated_reason")
    )
    by_pair = {(s.site_id, s.application_id): s for s in subscriptions}
    return {
        connection.pk: _health(by_pair.get((connection.site_id, connection.application_id)))
        for connection in connections
    }


def _count(deliveries: QuerySet[Delivery]) -> Coalesce:
    counted = deliveries.values("subscription").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted), 0)


def _health(subscription: Subscription | None) -> ConnectionHealth:
    if subscription is None:
        return ConnectionHealth(status=DeliveryStatus.NOT_SET_UP)
    if subscription.active:
        status = DeliveryStatus.ACTIVE
    elif subscription.deactivated_reason == DEACTIVATED_BY_410:
        status = DeliveryStatus.PAUSED_GONE
    else:
        status = DeliveryStatus.PAUSED
    return ConnectionHealth(
        status=status,
        endpoint_host=urlsplit(subscription.url).hostname or "",
        paused_at=None if subscription.active else subscription.deactivated_at,
        last_delivered=subscription.last_delivered,  # type: ignore[attr-defined]  # annotated
        recent_failures=subscription.recent_failures,  # type: ignore[attr-defined]  # annotated
    )
