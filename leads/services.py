"""Every write to leads goes through here, and these are the only places events are made.

An event and its deliveries (rows and queued jobs) are written in the same transaction
as the change: a rollback leaves nothing, a commit guarantees a delivery or a visible
failure.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.errors import Conflict, InvalidFields, NotFound
from sites.models import Site
from subscriptions.models import Subscription

from . import metrics
from .conf import app_settings
from .delivery.job import deliver_later
from .models import Action, Activity, Delivery, DeliveryState, Lead, LeadEvent
from .payloads import lead_body
from .selectors import orphaned_deliveries


@dataclass(frozen=True)
class ActivityData:
    type: str
    source: str
    description: str
    property: dict[str, Any] | None = None
    created: datetime | None = None


@transaction.atomic
def lead_create(
    *,
    site: Site,
    fields: dict[str, str],
    lead_id: uuid.UUID | None = None,
    activities: list[ActivityData] | None = None,
) -> Lead:
    _check_activities_addable(adding=len(activities or []), lead=None)
    lead = Lead(id=lead_id or uuid.uuid4(), site=site, **fields)
    try:
        lead.save(force_insert=True)
    except IntegrityError as exc:
        # Nothing more runs in this transaction (or savepoint, when nested): it rolls back.
        raise Conflict(f"A lead with the id {lead.id.hex} already exists") from exc
    created = _activities_create(lead=lead, activities=activities or [])
    _event_record(lead=lead, action=Action.CREATED, activities=created)
    return lead


@transaction.atomic
def lead_update(
    *,
    site: Site,
    lead_id: uuid.UUID,
    changes: dict[str, str],
    activities: list[ActivityData] | None = None,
) -> Lead:
    """Apply the given contact fields; an `updated` event only if one actually changed."""
    lead = _locked_lead(site=site, lead_id=lead_id)
    _check_activities_addable(adding=len(activities or []), lead=lead)
    changed = [name for name, value in changes.items() if getattr(lead, name) != value]
    for name in changed:
        setattr(lead, name, changes[name])
    if changed:
        lead.save(update_fields=[*changed, "updated"])
    _activities_create(lead=lead, activities=activities or [])
    if changed:
        _event_record(lead=lead, action=Action.UPDATED)
    return lead


@transaction.atomic
def activities_add(*, site: Site, lead_id: uuid.UUID, activities: list[ActivityData]) -> Lead:
    """Activities alone make no event: PieSync subscribes to `created` and `updated` only."""
    lead = _locked_lead(site=site, lead_id=lead_id)
    _check_activities_addable(adding=len(activities), lead=lead)
    _activities_create(lead=lead, activities=activities)
    return lead


def _locked_lead(*, site: Site, lead_id: uuid.UUID) -> Lead:
    """The site's lead, locked until the transaction ends: concurrent updates of one lead
    commit, and are delivered, in order, and concurrent additions of activities count
    what the others added. Only the lead's row: locking its site would serialize every
    update on the site."""
    try:
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id, site=site)
    except Lead.DoesNotExist:
        raise NotFound("Lead not found") from None
    lead.site = site
    return lead


def activities_cap_message(*, adding: int, lead: Lead | None) -> str | None:
    """Why `adding` activities may not be added to `lead` (None: one being created), or
    None when they may: past what one request may add, or what a lead may hold. Its
    events' bodies are capped apart (leads/payloads.py)."""
    if not adding:
        return None
    per_request: int = app_settings.LEAD_REQUEST_MAX_ACTIVITIES
    per_lead: int = app_settings.LEAD_MAX_ACTIVITIES
    if adding > per_request:
        return f"A request may add at most {per_request} activities; this one has {adding}."
    held = 0 if lead is None else Activity.objects.filter(lead=lead).count()
    if held + adding <= per_lead:
        return None
    return (
        f"This lead holds {held} activities, and may hold at most {per_lead}: "
        f"{max(per_lead - held, 0)} more can be added."
    )


def _check_activities_addable(*, adding: int, lead: Lead | None) -> None:
    """InvalidFields naming `activities`, before anything is written."""
    message = activities_cap_message(adding=adding, lead=lead)
    if message is not None:
        raise InvalidFields({"activities": [message]})


def _activities_create(*, lead: Lead, activities: list[ActivityData]) -> list[Activity]:
    if not activities:
        return []
    now = timezone.now()
    return Activity.objects.bulk_create(
        Activity(
            lead=lead,
            type=activity.type,
            source=activity.source,
            description=activity.description,
            property=activity.property,
            created=activity.created or now,
        )
        for activity in activities
    )


def _event_record(
    *, lead: Lead, action: Action, activities: list[Activity] | None = None
) -> LeadEvent:
    body = lead_body(lead, action=action, activities=activities)
    event = LeadEvent.objects.create(lead=lead, action=action, body=body)
    limit = app_settings.DELIVERY_MAX_PENDING_PER_SUBSCRIPTION
    # Whether `limit` deliveries are already pending, without counting all of them.
    backlog_full = Exists(
        Delivery.objects.filter(subscription=OuterRef("pk"), state=DeliveryState.PENDING)
        .order_by()
        .values("pk")[limit - 1 : limit]
    )
    subscriptions = Subscription.objects.filter(
        pk__in=_active_subscriptions_locked(site_id=lead.site_id)
    ).annotate(backlog_full=backlog_full)
    deliveries = []
    for subscription in subscriptions:
        delivery = Delivery(event=event, subscription=subscription, lead=lead, action=action)
        if subscription.backlog_full:
            # A partner that stays down must not grow the queue without bound.
            delivery.state = DeliveryState.FAILED
            delivery.finished = timezone.now()
            delivery.last_error = (
                f"Not queued: {limit} deliveries already pending for this subscription "
                "(DELIVERY_MAX_PENDING_PER_SUBSCRIPTION)"
            )
        deliveries.append(delivery)
    Delivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        if delivery.state == DeliveryState.PENDING:
            deliver_later(delivery)
    metrics.count_deliveries_on_commit(
        DeliveryState.FAILED, sum(d.state == DeliveryState.FAILED for d in deliveries)
    )
    return event


_LOCK_ACTIVE_SUBSCRIPTIONS_SQL = (
    "SELECT id FROM subscriptions_subscription WHERE site_id = %s AND active FOR KEY SHARE"
)


def _active_subscriptions_locked(*, site_id: int) -> list[int]:
    """The ids of the site's active subscriptions, locked against a DELETE until commit.

    Without it, a DELETE committing between this read and the commit made the deferred
    foreign key fail one of the two (a 500), or left a pending delivery it never
    cancelled. KEY SHARE, which Django's ORM cannot ask for, lets PUTs (no key change)
    and other events go on.
    """
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_ACTIVE_SUBSCRIPTIONS_SQL, [site_id])
        return [pk for (pk,) in cursor.fetchall()]


@transaction.atomic
def deliveries_redeliver(*, delivery_ids: list[uuid.UUID]) -> int:
    """Send finished deliveries again, with the same body and message id; pending ones
    too when their job ended without them (selectors.orphaned_deliveries)."""
    deliveries = list(
        Delivery.objects.select_for_update()
        .filter(pk__in=delivery_ids, subscription__isnull=False)
        .filter(~Q(state=DeliveryState.PENDING) | Q(pk__in=orphaned_deliveries().values("pk")))
        # Queued in commit order: a lead's jobs share a lock, which runs them in that order.
        .order_by("created")
    )
    for delivery in deliveries:
        delivery.state = DeliveryState.PENDING
        delivery.finished = None
        delivery.next_attempt_at = None
        # A fresh run of the retry schedule: `attempts` indexes it, and a delivery that
        # had used it up would otherwise fail at its first 5xx.
        delivery.attempts = 0
        delivery.save(update_fields=["state", "finished", "next_attempt_at", "attempts", "updated"])
        deliver_later(delivery)
    return len(deliveries)


@transaction.atomic
def deliveries_requeue_orphaned() -> int:
    """A job again for each pending delivery whose job ended without it, in commit order;
    its retry schedule goes on where it left off."""
    deliveries = list(orphaned_deliveries().select_for_update(skip_locked=True).order_by("created"))
    for delivery in deliveries:
        deliver_later(delivery)
    return len(deliveries)


@transaction.atomic
def deliveries_cancel_pending(*, subscription_id: int, reason: str) -> int:
    now = timezone.now()
    cancelled = Delivery.objects.filter(
        subscription_id=subscription_id, state=DeliveryState.PENDING
    ).update(state=DeliveryState.CANCELLED, last_error=reason, finished=now, updated=now)
    metrics.count_deliveries_on_commit(DeliveryState.CANCELLED, cancelled)
    return cancelled


@transaction.atomic
def deliveries_prune(*, older_than: timedelta) -> int:
    """Delete delivered and ignored deliveries finished before `older_than` ago, and the
    events left with no delivery. Failed and cancelled ones stay: they are the evidence."""
    cutoff = timezone.now() - older_than
    count, _ = Delivery.objects.filter(
        state__in=[DeliveryState.DELIVERED, DeliveryState.IGNORED], finished__lt=cutoff
    ).delete()
    LeadEvent.objects.filter(created__lt=cutoff, deliveries__isnull=True).delete()
    return count
