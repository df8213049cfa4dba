from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, Count, Exists, Min, OuterRef, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from procrastinate.contrib.django.models import ProcrastinateJob

from .models import Delivery, DeliveryState


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


def orphaned_deliveries() -> QuerySet[Delivery]:
    """Pending deliveries with no job left to send or finish them: their job failed, was
    aborted or cancelled, or was deleted, while the delivery was still pending. Only
    delivery jobs carry a `delivery_id` argument."""
    live_job = ProcrastinateJob.objects.annotate(delivery_id=KT("args__delivery_id")).filter(
        status__in=["todo", "doing"], delivery_id=Cast(OuterRef("pk"), CharField())
    )
    return Delivery.objects.filter(state=DeliveryState.PENDING).exclude(Exists(live_job))
