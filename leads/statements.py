"""The services' writes that the ORM would send as several statements, each sent as one:
statements, not rows, are what a request's time goes to (planning costs PostgreSQL more
than executing these), and one statement is atomic on its own, without BEGIN and COMMIT.

An event is recorded with its deliveries and their jobs in one statement (`EVENT`):
the site's active subscriptions locked against a DELETE (KEY SHARE, which Django's ORM
cannot ask for: PUTs and other events go on), each one's backlog counter
(leads.DeliveryBacklog) taken up by one unless it is full, a delivery to each (failed at
once when the backlog was full), and a job for each pending one, queued by
procrastinate's own SQL function (the one its `defer` calls) in the same statement.
Rows get time-ordered ids (core.ids), as the ORM's defaults give them.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from psycopg.types.json import Jsonb

from core.db import prepared_cursor
from core.ids import UUID7_SQL, uuid7_time
from ratelimits.services import HIT_CTES, Hit

from .delivery.job import deliver
from .models import CONTACT_FIELDS, Activity, Lead, LeadEvent

# The CTEs after a `lead` CTE that yields the lead's id (none: nothing is written).
# Counters are locked in subscription order, so concurrent events never deadlock on them;
# a full one is locked too, so that concurrent events cannot pass the cap. The job's lock
# and arguments are those of leads.delivery.job.deliver_later.
_EVENT = f"""
event AS (
    INSERT INTO leads_leadevent (id, lead_id, action, body, created)
    SELECT %(event_id)s, lead.id, %(action)s, %(body)s, %(now)s FROM lead
    RETURNING id
), subscription AS (
    SELECT s.id FROM subscriptions_subscription AS s
    WHERE s.site_id = %(site_id)s AND s.active AND EXISTS (SELECT FROM event)
    ORDER BY s.id
    FOR KEY SHARE
), backlog AS (
    INSERT INTO leads_deliverybacklog AS b (subscription_id, pending)
    SELECT id, 1 FROM subscription ORDER BY id
    ON CONFLICT (subscription_id) DO UPDATE SET pending = b.pending + 1
    WHERE b.pending < %(max_pending)s
    RETURNING b.subscription_id
), delivery AS (
    INSERT INTO leads_delivery (id, event_id, subscription_id, lead_id, action, state,
        attempts, last_status_code, last_error, response_snippet, next_attempt_at, created,
        updated, finished)
    SELECT {UUID7_SQL.format(time="%(id_time)s")}, event.id, s.id, %(lead_id)s, %(action)s,
        CASE WHEN queued THEN 'pending' ELSE 'failed' END, 0, NULL,
        CASE WHEN queued THEN '' ELSE %(backlog_full)s END, '', NULL, %(now)s, %(now)s,
        CASE WHEN queued THEN NULL ELSE %(now)s END
    FROM event, subscription AS s,
        LATERAL (SELECT s.id IN (SELECT subscription_id FROM backlog) AS queued) AS q
    RETURNING id, subscription_id, state
), job AS (
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(%(queue)s, %(task)s, %(priority)s,
            'delivery:' || d.subscription_id || ':' || %(lead_id)s, NULL,
            jsonb_build_object('delivery_id', d.id::text) || %(job_args)s, NULL
        )::procrastinate_job_to_defer_v1
        FROM delivery AS d WHERE d.state = 'pending' ORDER BY d.subscription_id
    ))) AS id
)
"""  # noqa: S608 (core.ids' expression)
# What the event's CTEs wrote: the event, the deliveries failed at once, the jobs.
_EVENT_COUNTS = """(SELECT count(*) FROM event),
    (SELECT count(*) FROM delivery WHERE state = 'failed'), (SELECT count(*) FROM job)"""

# The request's rate limits first (ratelimits.services.HIT_CTES): past one, the request
# is counted and nothing else is written.
_LEAD_CREATE = f"""
WITH {HIT_CTES}, lead AS (
    INSERT INTO leads_lead (id, site_id, {", ".join(CONTACT_FIELDS)}, created, updated)
    SELECT %(lead_id)s, %(site_id)s, {", ".join(f"%({name})s" for name in CONTACT_FIELDS)},
        %(now)s, %(now)s
    WHERE NOT (SELECT over FROM hit_over)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), activity AS (
    INSERT INTO leads_activity (lead_id, type, source, description, property, created)
    SELECT lead.id, a.type, a.source, a.description, a.property, a.created
    FROM lead, ROWS FROM (jsonb_to_recordset(%(activities)s::jsonb) AS (type text,
        source text, description text, property jsonb, created timestamptz))
        WITH ORDINALITY AS a (type, source, description, property, created, n)
    ORDER BY a.n
), {_EVENT}
SELECT {_EVENT_COUNTS}, (SELECT jsonb_object_agg(key, hits) FROM hit_counts)::text
"""  # noqa: S608 (the names of the model's columns)

_EVENT_RECORD = f"""WITH lead AS (SELECT %(lead_id)s::uuid AS id), {_EVENT}
SELECT {_EVENT_COUNTS}, NULL::text"""

# In subscription order, as every writer of the counters takes them.
_BACKLOGS_CHANGE = """
INSERT INTO leads_deliverybacklog AS b (subscription_id, pending)
SELECT * FROM unnest(%s::bigint[], %s::integer[]) AS c (subscription_id, change)
ORDER BY subscription_id
ON CONFLICT (subscription_id) DO UPDATE SET pending = b.pending + EXCLUDED.pending
"""

# Read without locks (backlog_suspects), over the pending deliveries' index.
_BACKLOG_SUSPECTS = """
SELECT coalesce(b.subscription_id, p.subscription_id) FROM leads_deliverybacklog AS b
FULL JOIN (
    SELECT subscription_id, count(*) AS pending FROM leads_delivery
    WHERE state = 'pending' AND subscription_id IS NOT NULL
    GROUP BY subscription_id
) AS p ON p.subscription_id = b.subscription_id
WHERE coalesce(b.pending, 0) <> coalesce(p.pending, 0)
"""
# Each counter locked (made if missing), in subscription order; what it said.
_BACKLOGS_LOCK = """
INSERT INTO leads_deliverybacklog AS b (subscription_id, pending)
SELECT id, 0 FROM subscriptions_subscription WHERE id = ANY(%s) ORDER BY id
ON CONFLICT (subscription_id) DO UPDATE SET pending = b.pending
RETURNING b.subscription_id, b.pending
"""
_BACKLOGS_RECOUNT = """
UPDATE leads_deliverybacklog AS b SET pending = (
    SELECT count(*) FROM leads_delivery AS d
    WHERE d.subscription_id = b.subscription_id AND d.state = 'pending'
)
WHERE b.subscription_id = ANY(%s)
RETURNING b.subscription_id, b.pending
"""


@dataclass(frozen=True)
class Recorded:
    """What an event's statement wrote."""

    event: bool  # False: a lead with the id existed, or a rate limit was past
    refused: int  # deliveries failed at once, their backlog full
    queued: int  # pending deliveries, each with its job
    hit_counts: dict[str, int]  # the rate limits' counts (ratelimits.services.Hit)


@dataclass(frozen=True)
class Backlog:
    """What a new delivery is checked against, and what it says when refused."""

    max_pending: int
    full_error: str


def lead_insert(
    *,
    lead: Lead,
    activities: list[Activity],
    event: LeadEvent,
    backlog: Backlog,
    request_id: str | None,
    hit: Hit,
) -> Recorded:
    """The request counted and checked against its rate limits (`hit`), and unless that
    put it past one: the lead (unless its id exists), its activities and its event, with
    the event's deliveries and jobs; `created` of the three is the same moment
    (`lead.created`)."""
    return _run(
        _LEAD_CREATE,
        {
            **hit.params(),
            **{name: getattr(lead, name) for name in CONTACT_FIELDS},
            # One JSON array, not an array per column: psycopg adapts each Python list
            # in Python, the costliest of the statement's parameters (measured).
            "activities": Jsonb(
                [
                    {
                        "type": a.type,
                        "source": a.source,
                        "description": a.description,
                        "property": a.property,
                        "created": a.created.isoformat(),
                    }
                    for a in activities
                ]
            )
            if activities
            else None,
        },
        lead=lead,
        event=event,
        backlog=backlog,
        request_id=request_id,
    )


def event_insert(
    *, lead: Lead, event: LeadEvent, backlog: Backlog, request_id: str | None
) -> Recorded:
    """The event of an existing lead, with its deliveries and jobs."""
    return _run(_EVENT_RECORD, {}, lead=lead, event=event, backlog=backlog, request_id=request_id)


def _run(
    sql: str,
    params: dict[str, Any],
    *,
    lead: Lead,
    event: LeadEvent,
    backlog: Backlog,
    request_id: str | None,
) -> Recorded:
    job = deliver.configure().job
    values: dict[str, Any] = {
        **params,
        "lead_id": lead.id,
        "site_id": lead.site_id,
        "event_id": event.id,
        "action": event.action,
        "body": event.body,
        "now": event.created,
        "id_time": uuid7_time(event.created),
        "max_pending": backlog.max_pending,
        "backlog_full": backlog.full_error,
        "queue": job.queue,
        "task": job.task_name,
        "priority": job.priority,
        "job_args": Jsonb({"request_id": request_id} if request_id else {}),
    }
    with prepared_cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    assert row is not None
    events, refused, queued, hit_counts = row
    return Recorded(
        event=events > 0,
        refused=refused,
        queued=queued,
        hit_counts=json.loads(hit_counts) if hit_counts else {},
    )


def backlogs_change(changes: Mapping[int | None, int]) -> None:
    """Add each change (negative: deliveries that left pending) to its subscription's
    counter, in the caller's transaction, which changed the deliveries it counts.
    Deliveries of no subscription (its application deleted) are counted nowhere."""
    changed = sorted((pk, change) for pk, change in changes.items() if change and pk is not None)
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _BACKLOGS_CHANGE,
            [[pk for pk, _ in changed], [change for _, change in changed]],
        )


def backlog_suspects() -> list[int]:
    """The subscriptions whose counter differs from their pending deliveries, read
    without a lock: a change committing meanwhile can make a counter look wrong."""
    with connection.cursor() as cursor:
        cursor.execute(_BACKLOG_SUSPECTS)
        return [pk for (pk,) in cursor.fetchall()]


def backlogs_recount(subscription_ids: list[int]) -> list[tuple[int, int, int]]:
    """Set these counters to what is pending; (subscription, counter, pending) of each
    that was wrong. In the caller's transaction, which keeps them locked to its end.

    Locked first, then counted in the next statement (a new snapshot, under READ
    COMMITTED): a change of deliveries is committed with its counter's, and those are
    now held, so the count and the counters agree on which changes happened.
    """
    with connection.cursor() as cursor:
        cursor.execute(_BACKLOGS_LOCK, [subscription_ids])
        counted = dict(cursor.fetchall())
        cursor.execute(_BACKLOGS_RECOUNT, [subscription_ids])
        pending = dict(cursor.fetchall())
    return [(pk, counted[pk], pending[pk]) for pk in sorted(pending) if counted[pk] != pending[pk]]
