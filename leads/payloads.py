"""The lead JSON that Real Geeks sends its destinations (reference §2)."""

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .models import CONTACT_FIELDS, Activity, Lead


def rfc3339(moment: datetime) -> str:
    """UTC with microseconds and a `Z`, as in Real Geeks' fixtures: 2015-10-01T06:14:01.597026Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lead_document(
    lead: Lead, *, action: str, activities: Iterable[Activity] | None = None
) -> dict[str, Any]:
    """`activities` spares a query when the caller has them (a lead just created)."""
    document: dict[str, Any] = {
        "action": action,
        "id": lead.id.hex,  # 32 hex characters, no dashes (reference §2.3)
        "site_uuid": str(lead.site.uuid),
        "site_domain": lead.site.domain,
        "created": rfc3339(lead.created),
    }
    for field in CONTACT_FIELDS:
        document[field] = getattr(lead, field)
    document["activities"] = [
        {
            "type": activity.type,
            "source": activity.source,
            "description": activity.description,
            **({"property": activity.property} if activity.property is not None else {}),
            "created": rfc3339(activity.created),
        }
        for activity in (lead.activities.all() if activities is None else activities)
    ]
    return document


def lead_body(lead: Lead, *, action: str, activities: Iterable[Activity] | None = None) -> bytes:
    """The exact bytes signed and sent; fixed when the event is recorded."""
    document = lead_document(lead, action=action, activities=activities)
    return json.dumps(document, separators=(",", ":")).encode()
