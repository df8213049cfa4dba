"""A week of delivery rows for the delivery health page, written with one set-based
statement (`INSERT ... SELECT generate_series`): a million in well under a minute.

The rows finish evenly over the last seven days, in turn to the given subscriptions,
each subscription failing its own share; most are delivered within a few milliseconds,
some after a retry (a minute) or a partner's long outage (two hours); a few are
ignored (406) or cancelled, and the most recent hour has some pending, counted in the
backlog counters as the services would.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from leads.models import Lead, LeadEvent
from subscriptions.models import Subscription

WEEK = timedelta(days=7)

# n is the row's number: the n-th newest, finished (or, pending, committed) at `at`, and
# committed `latency` before it.
_INSERT = """
INSERT INTO leads_delivery (id, event_id, subscription_id, lead_id, action, state, attempts,
    last_status_code, last_error, response_snippet, next_attempt_at, created, updated,
    finished)
SELECT gen_random_uuid(), %(event)s, s.subscription_id, %(lead)s, 'created', s.state, 1,
    NULL, '', '', NULL, s.at - s.latency, s.at,
    CASE WHEN s.state = 'pending' THEN NULL ELSE s.at END
FROM (
    SELECT (%(subscriptions)s::bigint[])[1 + n %% %(count)s] AS subscription_id,
        %(now)s::timestamptz - (n::float8 / %(rows)s) * interval '7 days' AS at,
        CASE
            WHEN n < %(pending)s THEN 'pending'
            WHEN (n / %(count)s) %% 1000 < (%(failed_per_mille)s::int[])[1 + n %% %(count)s]
                THEN 'failed'
            WHEN n %% 199 = 7 THEN 'ignored'
            WHEN n %% 997 = 11 THEN 'cancelled'
            ELSE 'delivered'
        END AS state,
        CASE
            WHEN n < %(pending)s THEN interval '0'
            WHEN n %% 1009 = 13 THEN interval '2 hours'
            WHEN n %% 101 = 17 THEN interval '61 seconds'
            ELSE make_interval(secs => 0.002 + (n %% 37) * 0.0003)
        END AS latency
    FROM generate_series(0, %(rows)s::integer - 1) AS n
) AS s
"""

_BACKLOGS = """
INSERT INTO leads_deliverybacklog AS b (subscription_id, pending)
SELECT subscription_id, count(*) FROM leads_delivery
WHERE state = 'pending' AND subscription_id = ANY(%(subscriptions)s)
GROUP BY subscription_id
ON CONFLICT (subscription_id) DO UPDATE SET pending = EXCLUDED.pending
"""


@dataclass(frozen=True)
class Week:
    rows: int
    now: datetime  # the newest row's commit


@transaction.atomic
def deliveries_seed(
    *,
    subscriptions: list[Subscription],
    rows: int,
    now: datetime,
    failed_per_mille: list[int] | None = None,
    pending: int = 500,
) -> Week:
    """`rows` deliveries of one lead's event over the week before `now`, to these
    subscriptions in turn; the i-th fails `failed_per_mille[i]` in a thousand (default
    20), and the `pending` newest are pending."""
    lead = Lead.objects.create(site=subscriptions[0].site, source="Seed", first_name="Seed")
    event = LeadEvent.objects.create(lead=lead, action="created", body=b"{}")
    ids = [subscription.pk for subscription in subscriptions]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            {
                "event": event.pk,
                "lead": lead.pk,
                "subscriptions": ids,
                "count": len(ids),
                "failed_per_mille": failed_per_mille or [20] * len(ids),
                "rows": rows,
                "pending": pending,
                "now": now,
            },
        )
        cursor.execute(_BACKLOGS, {"subscriptions": ids})
    return Week(rows=rows, now=now)
