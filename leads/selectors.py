from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import CharField, Count, Exists, Max, Min, OuterRef, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Now
from procrastinate.contrib.django.models import ProcrastinateJob, ProcrastinateWorker

from .models import Delivery, DeliveryState


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
