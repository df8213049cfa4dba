import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import CharField, Count, Exists, Max, Min, OuterRef, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Now
from procrastinate.contrib.django.models import ProcrastinateJob, ProcrastinateWorker
from psycopg import AsyncConnection

from subscriptions.models import Subscription

from .models import Delivery, DeliveryState, LeadEvent


@dataclass(frozen=True)
class Target:
    """Where a delivery goes, read at send time. The secret is still encrypted: the
    sender decrypts it (subscriptions.crypto.decrypt_secret)."""

    pk: int
    url: str
    secret_encrypted: str
    active: bool


@dataclass(frozen=True)
class DeliveryAttempt:
    id: uuid.UUID
    action: str
    state: str
    attempts: int
    body: bytes
    subscription: Target | None
    created: datetime  # written in the lead's transaction: its commit time, near enough

    @property
    def pk(self) -> uuid.UUID:
        return self.id


_DELIVERY_ATTEMPT_SQL = f"""
    SELECT d.id, d.action, d.state, d.attempts, e.body, s.id, s.url, s.secret_encrypted, s.active,
        d.created
    FROM {Delivery._meta.db_table} d
    JOIN {LeadEvent._meta.db_table} e ON e.id = d.event_id
    LEFT JOIN {Subscription._meta.db_table} s ON s.id = d.subscription_id
    WHERE d.id = %s
"""  # noqa: S608 (table names from the models, the id is a parameter)


async def delivery_attempt(
    connection: AsyncConnection[Any], *, delivery_id: str | uuid.UUID
) -> DeliveryAttempt | None:
    """What one webhook request needs, in one query, on the delivery worker's own
    connection (leads.delivery)."""
    cursor = await connection.execute(_DELIVERY_ATTEMPT_SQL, [str(delivery_id)])
    row = await cursor.fetchone()
    if row is None:
        return None
    id_, action, state, attempts, body, sub_id, url, secret_encrypted, active, created = row
    target = Target(sub_id, url, secret_encrypted, active) if sub_id is not None else None
    return DeliveryAttempt(id_, action, state, attempts, bytes(body), target, created)


@dataclass(frozen=True)
class QueueStats:
    pending: int
    oldest_created: datetime | None


def delivery_queue_stats() -> QueueStats:
    """Pending deliveries and when the oldest was made, in one query (per metrics scrape)."""
    row = Delivery.objects.filter(state=DeliveryState.PENDING).aggregate(
        pending=Count("pk"), oldest=Min("created")
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
