"""The lead JSON that Real Geeks sends its destinations (reference §2)."""

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Window

from .conf import app_settings
from .models import CONTACT_FIELDS, Activity, Lead


def rfc3339(moment: datetime) -> str:
    """UTC with microseconds and a `Z`, as in Real Geeks' fixtures: 2015-10-01T06:14:01.597026Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lead_document(
    lead: Lead, *, action: str, activities: Iterable[Activity] | None = None
) -> dict[str, Any]:
    """`activities`: all of the lead's, when the caller has them (a lead just created),
    sparing the query.

    `activities` carries the LEAD_PAYLOAD_MAX_ACTIVITIES most recent ones, oldest first;
    `activities_total`, added only when there are more, says how many the lead has.
    """
    document: dict[str, Any] = {
        "action": action,
        "id": lead.id.hex,  # 32 hex characters, no dashes (reference §2.3)
        "site_uuid": str(lead.site.uuid),
        "site_domain": lead.site.domain,
        "created": rfc3339(lead.created),
    }
    for field in CONTACT_FIELDS:
        document[field] = getattr(lead, field)
    sent, total = _most_recent_activities(lead, activities)
    document["activities"] = [
        {
            "type": activity.type,
            "source": activity.source,
            "description": activity.description,
            **({"property": activity.property} if activity.property is not None else {}),
            "created": rfc3339(activity.created),
        }
        for activity in sent
    ]
    if total > len(sent):
        document["activities_total"] = total
    return document


def _most_recent_activities(
    lead: Lead, activities: Iterable[Activity] | None
) -> tuple[list[Activity], int]:
    """The most recent activities to send, oldest first, and how many the lead has."""
    limit: int = app_settings.LEAD_PAYLOAD_MAX_ACTIVITIES
    if activities is not None:
        every = sorted(activities, key=lambda activity: (activity.created, activity.pk))
        return every[-limit:] if limit else [], len(every)
    # One query: the window's count is taken over all the lead's rows, before the LIMIT.
    recent = list(
        lead.activities.annotate(total=Window(Count("pk"))).order_by("-created", "-pk")[:limit]
    )
    total: int = recent[0].total if recent else lead.activities.count()
    return [*reversed(recent)], total


def lead_body(lead: Lead, *, action: str, activities: Iterable[Activity] | None = None) -> bytes:
    """The exact bytes signed and sent; fixed when the event is recorded."""
    document = lead_document(lead, action=action, activities=activities)
    return json.dumps(document, separators=(",", ":")).encode()
