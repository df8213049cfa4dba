"""Delivery rows made directly, in bulk, in any state and at any time: no event is
recorded and no job queued (the delivery log as a page or a selector reads it)."""

from datetime import datetime, timedelta

from django.utils import timezone

from leads.models import Delivery, Lead, LeadEvent
from subscriptions.models import Subscription


def make_deliveries(
    subscription: Subscription,
    state: str,
    *,
    count: int = 1,
    finished: datetime | None = None,
    attempts: int = 0,
    updated: datetime | None = None,
    created: datetime | None = None,
) -> list[Delivery]:
    """`count` deliveries of one lead's event to `subscription`; `updated` backdates
    their last change (an attempt's time, for a pending one), `created` their commit."""
    lead = Lead.objects.create(site=subscription.site, source="Zillow", first_name="Ada")
    event = LeadEvent.objects.create(lead=lead, action="created", body=b"{}")
    rows = Delivery.objects.bulk_create(
        Delivery(
            event=event,
            subscription=subscription,
            lead=lead,
            action="created",
            state=state,
            attempts=attempts,
            finished=finished,
        )
        for _ in range(count)
    )
    backdated = {
        name: value for name, value in (("updated", updated), ("created", created)) if value
    }
    if backdated:
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(**backdated)
    return rows


def hours_ago(hours: float) -> datetime:
    return timezone.now() - timedelta(hours=hours)
