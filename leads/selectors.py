import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import CharField, Count, Exists, Max, Min, OuterRef, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Now
from procrastinate.contrib.django.models import ProcrastinateJob, ProcrastinateWorker

from subscriptions.models import Subscription

from .models import Delivery, DeliveryBacklog, DeliveryHour, DeliveryHoursRefresh, DeliveryState
from .rollups import BUCKETS, percentile_bucket


@dataclass(frozen=True)
class QueueStats:
    pending: int
    oldest_created: datetime | None


def delivery_queue_stats() -> QueueStats:
    """Pending deliveries and when the oldest was made, in one query (per metrics scrape),
    read from their partial index alone: `count(*)`, since `count(id)` would read each row
    for its id."""
    row = Delivery.objects.filter(state=DeliveryState.PENDING).aggregate(
        pending=Count("*"), oldest=Min("created")
    )
    return QueueStats(pending=row["pending"], oldest_created=row["oldest"])


def newest_worker_heartbeat_age() -> timedelta | None:
    """Time since the newest delivery worker heartbeat, by the database's clock (the one
    procrastinate writes them with); None when no worker is registered. A worker deletes
    its row when it stops; a killed one's stays, ageing, until the next worker starts."""
    age: timedelta | None = ProcrastinateWorker.objects.aggregate(
        age=Now() - Max("last_heartbeat")
    )["age"]
    return age


def orphaned_deliveries() -> QuerySet[Delivery]:
    """Pending deliveries with no job left to send or finish them: their job failed, was
    aborted or cancelled, or was deleted, while the delivery was still pending. Only
    delivery jobs carry a `delivery_id` argument."""
    live_job = ProcrastinateJob.objects.annotate(delivery_id=KT("args__delivery_id")).filter(
        status__in=["todo", "doing"], delivery_id=Cast(OuterRef("pk"), CharField())
    )
    return Delivery.objects.filter(state=DeliveryState.PENDING).exclude(Exists(live_job))


# --- the delivery health page ---------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """Finished deliveries by outcome, and the latency of the received ones as counts per
    bucket of rollups.LATENCY_BOUNDS."""

    delivered: int = 0
    ignored: int = 0
    failed: int = 0
    cancelled: int = 0
    latency: tuple[int, ...] = (0,) * BUCKETS

    @property
    def received(self) -> int:
        """Delivered and ignored: the partner answered (a 406 is an answer)."""
        return self.delivered + self.ignored

    @property
    def total(self) -> int:
        return self.received + self.failed + self.cancelled

    @property
    def success_rate(self) -> float | None:
        """Received of received and failed; cancelled ones (their subscription deleted or
        paused) were never the partner's to receive. None: nothing to rate."""
        tried = self.received + self.failed
        return self.received / tried if tried else None

    @property
    def p50(self) -> int | None:
        return percentile_bucket(self.latency, 0.5)

    @property
    def p99(self) -> int | None:
        return percentile_bucket(self.latency, 0.99)

    def __add__(self, other: "Outcomes") -> "Outcomes":
        return Outcomes(
            delivered=self.delivered + other.delivered,
            ignored=self.ignored + other.ignored,
            failed=self.failed + other.failed,
            cancelled=self.cancelled + other.cancelled,
            latency=tuple(a + b for a, b in zip(self.latency, other.latency, strict=True)),
        )


@dataclass(frozen=True)
class SubscriptionHealth:
    """One subscription's deliveries in the window and its backlog now. `subscription`
    is None for deliveries whose subscription was deleted (`subscription_id` is then
    None, or the deleted one's id for hours counted before)."""

    subscription_id: int | None
    subscription: Subscription | None
    outcomes: Outcomes
    backlog: int = 0
    oldest_pending: datetime | None = None


@dataclass(frozen=True)
class DeliveryHealth:
    """What the health page shows, for all subscriptions or the selected one."""

    since: datetime
    hours: dict[datetime, Outcomes]  # by the hour's start; hours without deliveries absent
    outcomes: Outcomes
    backlog: int
    oldest_pending: datetime | None
    subscriptions: list[SubscriptionHealth]  # the worst first, at most `limit`
    subscriptions_active: int  # how many had deliveries in the window, or a backlog
    refreshed: datetime | None  # when the rollups were last recounted; None: never
    selected: SubscriptionHealth | None = None


_SUMS: dict[str, Any] = {
    **{name: Sum(name) for name in ("delivered", "ignored", "failed", "cancelled")},
    **{f"bucket{i}": Sum(f"latency__{i}") for i in range(BUCKETS)},
}


def _outcomes(row: Mapping[str, Any]) -> Outcomes:
    return Outcomes(
        delivered=row["delivered"],
        ignored=row["ignored"],
        failed=row["failed"],
        cancelled=row["cancelled"],
        latency=tuple(row[f"bucket{i}"] for i in range(BUCKETS)),
    )


def delivery_health(
    *, since: datetime, subscription_id: int | None = None, limit: int = 50
) -> DeliveryHealth | None:
    """The health page's figures from `since` (the start of an hour): hourly rollups,
    summed in the database, and the backlog counters; in six queries however many
    subscriptions and deliveries there are. None when `subscription_id` names no
    subscription."""
    in_window = DeliveryHour.objects.filter(hour__gte=since)
    by_subscription = {
        row["subscription_id"]: _outcomes(row)
        for row in in_window.values("subscription_id").annotate(**_SUMS).order_by()
    }
    backlogs = dict(
        DeliveryBacklog.objects.filter(pending__gt=0).values_list("subscription_id", "pending")
    )
    # Over the pending deliveries' partial index alone (it includes the subscription).
    oldest = {
        row["subscription_id"]: row["oldest"]
        for row in Delivery.objects.filter(state=DeliveryState.PENDING)
        .values("subscription_id")
        .annotate(oldest=Min("created"))
        .order_by()
    }
    rows = _ranked(by_subscription, backlogs, oldest)
    shown = rows[:limit]
    wanted = {row.subscription_id for row in shown} | {subscription_id}
    subscriptions = Subscription.objects.select_related("site", "application").in_bulk(
        [pk for pk in wanted if pk is not None]
    )
    # A row whose subscription is not found was a deleted subscription's.
    shown = [replace(row, subscription=subscriptions.get(row.subscription_id)) for row in shown]
    selected = None
    hourly = in_window
    if subscription_id is not None:
        if subscription_id not in subscriptions:
            return None
        selected = SubscriptionHealth(
            subscription_id=subscription_id,
            subscription=subscriptions[subscription_id],
            outcomes=by_subscription.get(subscription_id, Outcomes()),
            backlog=backlogs.get(subscription_id, 0),
            oldest_pending=oldest.get(subscription_id),
        )
        hourly = in_window.filter(subscription_id=subscription_id)
    hours = {
        row["hour"]: _outcomes(row) for row in hourly.values("hour").annotate(**_SUMS).order_by()
    }
    return DeliveryHealth(
        since=since,
        hours=hours,
        outcomes=sum(hours.values(), Outcomes()),
        backlog=selected.backlog if selected else sum(backlogs.values()),
        oldest_pending=selected.oldest_pending if selected else min(oldest.values(), default=None),
        subscriptions=shown,
        subscriptions_active=len(rows),
        refreshed=DeliveryHoursRefresh.objects.values_list("refreshed", flat=True).first(),
        selected=selected,
    )


def _ranked(
    outcomes: Mapping[int | None, Outcomes],
    backlogs: Mapping[int, int],
    oldest: Mapping[int | None, datetime],
) -> list[SubscriptionHealth]:
    """Every subscription with deliveries or a backlog, the worst first: the most
    failures, then the largest backlog, the oldest pending, the most deliveries."""
    ids: set[int | None] = {*outcomes, *backlogs, *oldest}
    rows = [
        SubscriptionHealth(
            subscription_id=pk,
            subscription=None,
            outcomes=outcomes.get(pk, Outcomes()),
            backlog=backlogs.get(pk, 0) if pk is not None else 0,
            oldest_pending=oldest.get(pk),
        )
        for pk in ids
    ]
    return sorted(
        rows,
        key=lambda row: (
            -row.outcomes.failed,
            -row.backlog,
            row.oldest_pending.timestamp() if row.oldest_pending else math.inf,
            -row.outcomes.total,
            row.subscription_id or 0,
        ),
    )
