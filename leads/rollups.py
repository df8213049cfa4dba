"""The hourly delivery rollups (leads.DeliveryHour) that the delivery health page reads:
the latency buckets they count in, the statement that recounts them from the deliveries,
and percentiles read back from bucket counts.

A rollup is recounted whole from the deliveries' (state, finished) index, never added
to: a delivery committed late, or finished again after a redelivery, is counted where
it now stands the next time its hour is recounted, and counting costs the delivery
path nothing.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

# Seconds; the upper bounds of the latency buckets, the last bucket being everything
# slower. Also the buckets of the realgeeks_delivery_latency_seconds histogram
# (leads/metrics.py), so the page and Prometheus agree. Up to the retry schedule's three
# days.
LATENCY_BOUNDS: tuple[float, ...] = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    *(300.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0),
)
BUCKETS = len(LATENCY_BOUNDS) + 1

# One row per (hour, subscription) that has finished deliveries since %(since)s, upserted;
# the rows of those hours that no longer have any, and those older than %(keep)s,
# deleted. width_bucket gives 0 below the first bound, i for [bound i-1, bound i), and
# len(bounds) from the last bound up: the index into `latency`. Received = delivered or
# ignored (a 406 is an answer). The statement sees one snapshot, so the upsert and the
# deletion agree on what was counted.
_LATENCY_COUNTS = ",\n            ".join(
    f"count(*) FILTER (WHERE state IN ('delivered', 'ignored') AND bucket = {i})"
    for i in range(BUCKETS)
)
_HOURS_RECOUNT = f"""
WITH finished AS (
    SELECT subscription_id, date_trunc('hour', finished) AS hour, state,
        width_bucket(extract(epoch FROM finished - created)::float8, %(bounds)s::float8[])
            AS bucket
    FROM leads_delivery
    WHERE state IN ('delivered', 'ignored', 'failed', 'cancelled') AND finished >= %(since)s
), counted AS (
    SELECT subscription_id, hour,
        count(*) FILTER (WHERE state = 'delivered') AS delivered,
        count(*) FILTER (WHERE state = 'ignored') AS ignored,
        count(*) FILTER (WHERE state = 'failed') AS failed,
        count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
        ARRAY[
            {_LATENCY_COUNTS}
        ] AS latency
    FROM finished
    GROUP BY subscription_id, hour
), upserted AS (
    INSERT INTO leads_deliveryhour AS h
        (subscription_id, hour, delivered, ignored, failed, cancelled, latency)
    SELECT subscription_id, hour, delivered, ignored, failed, cancelled, latency FROM counted
    ON CONFLICT (hour, subscription_id) DO UPDATE SET delivered = EXCLUDED.delivered,
        ignored = EXCLUDED.ignored, failed = EXCLUDED.failed,
        cancelled = EXCLUDED.cancelled, latency = EXCLUDED.latency
    RETURNING 1
), emptied AS (
    DELETE FROM leads_deliveryhour AS h
    WHERE h.hour < %(keep)s OR (
        h.hour >= %(since)s AND NOT EXISTS (
            SELECT FROM counted AS c
            WHERE c.hour = h.hour AND c.subscription_id IS NOT DISTINCT FROM h.subscription_id
        )
    )
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM emptied)
"""  # noqa: S608 (bucket numbers from range())


def hours_recount(*, since: datetime, keep: datetime) -> tuple[int, int]:
    """Recount every hour from the one holding `since` on (an hour counts deliveries
    finished from `since`, so `since` is the start of an hour), and drop the rollups
    older than `keep`; (rows written, rows deleted). In the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            _HOURS_RECOUNT, {"since": since, "keep": keep, "bounds": list(LATENCY_BOUNDS)}
        )
        row = cursor.fetchone()
    assert row is not None
    return row[0], row[1]


def percentile_bucket(counts: Sequence[int], fraction: float) -> int | None:
    """The index of the bucket holding the `fraction` quantile of these bucket counts
    (the first whose running total reaches it); None when nothing was counted."""
    total = sum(counts)
    if total == 0:
        return None
    rank = fraction * total
    running = 0
    for index, count in enumerate(counts):
        running += count
        if running >= rank:
            return index
    return len(counts) - 1


def bucket_label(index: int) -> str:
    """What a bucket says of a latency: `≤ 25 ms`, `≤ 5 min`, or `> 3 d` for the last."""
    if index >= len(LATENCY_BOUNDS):
        return f"> {duration_label(LATENCY_BOUNDS[-1])}"
    return f"≤ {duration_label(LATENCY_BOUNDS[index])}"


def duration_label(seconds: float) -> str:
    """A bucket bound, short: `5 ms`, `2.5 s`, `30 min`, `4 h`, `3 d`."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds * 1000:g} ms"
