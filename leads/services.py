"""Every write to leads goes through here, and these are the only places events are made.

An event and its deliveries (rows and queued jobs) are written in the same transaction
as the change: a rollback leaves nothing, a commit guarantees a delivery or a visible
failure. Whatever makes deliveries pending or takes them out of it changes their
subscriptions' backlog counters (models.DeliveryBacklog) in the same transaction.
"""

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import Conflict, InvalidFields, NotFound
from core.ids import uuid7
from core.request_id import current_request_id
from ratelimits.services import Hit, OverLimit
from sites.models import Site

from . import metrics, rollups, statements
from .conf import app_settings
from .delivery.job import deliver_later
from .models import (
    Action,
    Activity,
    Delivery,
    DeliveryHoursRefresh,
    DeliveryState,
    Lead,
    LeadEvent,
)
from .payloads import lead_body
from .selectors import orphaned_deliveries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivityData:
    type: str
    source: str
    description: str
    property: dict[str, Any] | None = None
    created: datetime | None = None


def lead_create(
    *,
    site: Site,
    fields: dict[str, str],
    lead_id: uuid.UUID | None = None,
    activities: list[ActivityData] | None = None,
    rate_limit: Hit | None = None,
) -> Lead:
    """The lead, its activities, its `created` event and that event's deliveries and jobs,
    in one statement: atomic on its own, without a transaction of its own (none is sent
    when the caller has none), and nothing written when the id exists.

    The request's `rate_limit` is counted in the same statement (a round trip less):
    OverLimit, with nothing else written, when that puts it past a limit.
    """
    _check_activities_addable(adding=len(activities or []), lead=None)
    now = timezone.now()
    lead = Lead(id=lead_id or uuid7(now), site=site, created=now, updated=now, **fields)
    created = [_activity(lead, activity, now) for activity in activities or []]
    event = _event(lead=lead, action=Action.CREATED, activities=created, now=now)
    hit = rate_limit or Hit.of(limits={})
    recorded = statements.lead_insert(
        lead=lead,
        activities=created,
        event=event,
        backlog=_backlog(),
        request_id=current_request_id(),
        hit=hit,
    )
    retry_after = hit.retry_after(recorded.hit_counts)
    if retry_after is not None:
        raise OverLimit(retry_after)
    if not recorded.event:
        raise Conflict(f"A lead with the id {lead.id.hex} already exists")
    lead._state.adding = False
    lead._state.db = "default"
    metrics.count_deliveries_on_commit(DeliveryState.FAILED, recorded.refused)
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


def _activities_create(*, lead: Lead, activities: list[ActivityData]) -> None:
    if activities:
        now = timezone.now()
        Activity.objects.bulk_create(_activity(lead, activity, now) for activity in activities)


def _activity(lead: Lead, activity: ActivityData, now: datetime) -> Activity:
    return Activity(
        lead=lead,
        type=activity.type,
        source=activity.source,
        description=activity.description,
        property=activity.property,
        created=activity.created or now,
    )


def _event(
    *, lead: Lead, action: Action, now: datetime, activities: list[Activity] | None = None
) -> LeadEvent:
    body = lead_body(lead, action=action, activities=activities)
    return LeadEvent(id=uuid7(now), lead=lead, action=action, body=body, created=now)


def _event_record(*, lead: Lead, action: Action) -> None:
    """The event of an existing lead, with its deliveries and jobs (one statement)."""
    event = _event(lead=lead, action=action, now=timezone.now())
    recorded = statements.event_insert(
        lead=lead, event=event, backlog=_backlog(), request_id=current_request_id()
    )
    metrics.count_deliveries_on_commit(DeliveryState.FAILED, recorded.refused)


def _backlog() -> statements.Backlog:
    """A partner that stays down must not grow the queue without bound: past this, new
    deliveries to it are failed at once."""
    limit: int = app_settings.DELIVERY_MAX_PENDING_PER_SUBSCRIPTION
    return statements.Backlog(
        max_pending=limit,
        full_error=(
            f"Not queued: {limit} deliveries already pending for this subscription "
            "(DELIVERY_MAX_PENDING_PER_SUBSCRIPTION)"
        ),
    )


@transaction.atomic
def deliveries_redeliver(*, delivery_ids: list[uuid.UUID]) -> int:
    """Send finished deliveries again, with the same body and message id; pending ones
    too when their job ended without them (selectors.orphaned_deliveries). An admin's
    choice: the backlog cap does not refuse it."""
    deliveries = list(
        Delivery.objects.select_for_update()
        .filter(pk__in=delivery_ids, subscription__isnull=False)
        .filter(~Q(state=DeliveryState.PENDING) | Q(pk__in=orphaned_deliveries().values("pk")))
        # Queued in commit order: a lead's jobs share a lock, which runs them in that order.
        .order_by("created")
    )
    statements.backlogs_change(
        Counter(d.subscription_id for d in deliveries if d.state != DeliveryState.PENDING)
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
    statements.backlogs_change({subscription_id: -cancelled})
    metrics.count_deliveries_on_commit(DeliveryState.CANCELLED, cancelled)
    return cancelled


@transaction.atomic
def leads_delete(*, lead_ids: list[uuid.UUID]) -> int:
    """Delete the leads, with their activities, events and deliveries; the pending ones
    leave their subscriptions' backlogs. The leads are locked first: no update adds a
    delivery to them meanwhile, and a delivery the worker finishes meanwhile is counted
    out by the worker, not here."""
    list(Lead.objects.select_for_update().filter(pk__in=lead_ids).values_list("pk"))
    pending = Counter(
        Delivery.objects.select_for_update()
        .filter(lead_id__in=lead_ids, state=DeliveryState.PENDING)
        .values_list("subscription_id", flat=True)
    )
    statements.backlogs_change({pk: -count for pk, count in pending.items()})
    _, deleted = Lead.objects.filter(pk__in=lead_ids).delete()
    return deleted.get(Lead._meta.label, 0)


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


@transaction.atomic
def delivery_backlogs_repair() -> int:
    """Set every backlog counter that differs from its pending deliveries to their
    number, and log each: how many were wrong.

    Each is maintained with the deliveries it counts, so none should ever be; a write
    that bypassed these services and the delivery worker (SQL by hand, a cascade from
    a deletion outside `leads_delete`, the previous release during a deploy) would leave
    one wrong for good, refusing deliveries to a partner that is up, or letting a
    backlog pass the cap. Only the suspects are locked, briefly.
    """
    suspects = statements.backlog_suspects()
    if not suspects:
        return 0
    repaired = statements.backlogs_recount(suspects)
    for subscription_id, counted, pending in repaired:
        logger.warning(
            "Backlog counter of subscription %s said %d pending deliveries, not %d: corrected",
            subscription_id,
            counted,
            pending,
        )
    return len(repaired)


# A delivery is counted in the hour it finished, and commits a moment after that time
# is taken: each refresh recounts from the hour that held the previous refresh less this
# margin (the current hour alone, but for the first minutes of an hour). The rollups
# kept: the page's longest window (7 days) and a day.
LATE_MARGIN = timedelta(minutes=10)
HOURS_KEPT = timedelta(days=8)


@transaction.atomic
def delivery_hours_refresh(*, now: datetime | None = None) -> tuple[int, int]:
    """Recount the hourly delivery rollups (models.DeliveryHour) from the deliveries,
    from the hour of the previous refresh less LATE_MARGIN (so missed refreshes are
    caught up), or all HOURS_KEPT on the first; drop older ones. Runs one at a time:
    the refresh row is locked. (rows written, rows deleted)."""
    now = now or timezone.now()
    keep = _hour(now) - HOURS_KEPT
    mark, created = DeliveryHoursRefresh.objects.select_for_update().get_or_create(
        pk=1, defaults={"refreshed": now}
    )
    since = keep if created else max(keep, _hour(min(mark.refreshed, now) - LATE_MARGIN))
    counts = rollups.hours_recount(since=since, keep=keep)
    mark.refreshed = now
    mark.save(update_fields=["refreshed"])
    return counts


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
