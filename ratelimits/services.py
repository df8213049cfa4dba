"""Request counters in PostgreSQL, shared by every web process on every machine.

Fixed windows: a key's count starts again at each multiple of its rate's period (on the
Unix clock), so a client can send up to twice its limit across a window boundary.
"""

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from core.db import prepared_cursor

from .models import RateLimitWindow
from .rates import Rate

# Fixed statements whatever the number of keys (arrays, not generated placeholders), in
# key order: concurrent statements then lock shared rows in the same order. `_HIT` also
# reads the counts of the keys it is asked to check without counting (the second pair of
# arrays, other keys than the first's), in the same round trip.
_HIT = """
    WITH hit AS (
        INSERT INTO ratelimits_ratelimitwindow (key, window_end, hits)
        SELECT key, window_end, 1
        FROM unnest(%s::text[], %s::timestamptz[]) WITH ORDINALITY AS w (key, window_end, n)
        ORDER BY n
        ON CONFLICT (key, window_end) DO UPDATE SET hits = ratelimits_ratelimitwindow.hits + 1
        RETURNING key, hits
    )
    SELECT key, hits FROM hit
    UNION ALL
    SELECT key, hits FROM ratelimits_ratelimitwindow
    WHERE (key, window_end) IN (SELECT * FROM unnest(%s::text[], %s::timestamptz[]))
"""
_COUNTS = """
    SELECT key, hits FROM ratelimits_ratelimitwindow
    WHERE (key, window_end) IN (SELECT * FROM unnest(%s::text[], %s::timestamptz[]))
"""


def windows_hit(
    *,
    limits: Mapping[str, Rate],
    full: Mapping[str, Rate] | None = None,
    now: float | None = None,
) -> int | None:
    """Count one request under each key of `limits`; the seconds to wait (for
    `Retry-After`) if that took any key over its limit, or if any key of `full` has
    already counted its limit (as `windows_full`, counting nothing there), else None.

    One `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (`_HIT`) for all the keys: one round trip,
    atomic on its own. Deliberately no transaction around it: a transaction would cost a
    COMMIT round trip, and one that went on into the request's work would keep the counter
    row locked, and the client's other requests waiting, until it committed. Rows are
    written in key order, so that concurrent statements lock shared rows in the same order.
    """
    full = full or {}
    if not limits and not full:
        return None
    if limits.keys() & full.keys():
        raise ValueError("A key is either counted or checked")
    at = time.time() if now is None else now
    rows, checked = _windows(limits, at), _windows(full, at)
    with prepared_cursor() as cursor:
        cursor.execute(_HIT, [*_columns(rows), *_columns(checked)])
        counts = dict(cursor.fetchall())
    waits = [math.ceil(end - at) for key, end, rate in rows if counts[key] > rate.limit]
    waits += [math.ceil(end - at) for key, end, rate in checked if counts.get(key, 0) >= rate.limit]
    return max(waits) if waits else None


def windows_full(*, limits: Mapping[str, Rate], now: float | None = None) -> int | None:
    """The seconds to wait if any key has already counted its limit in its current
    window, else None. Counts nothing: for limits on what a request turns out to be (a
    failure), checked before its work. One primary-key SELECT."""
    if not limits:
        return None
    at = time.time() if now is None else now
    rows = _windows(limits, at)
    with prepared_cursor() as cursor:
        cursor.execute(_COUNTS, _columns(rows))
        counts = dict(cursor.fetchall())
    waits = [math.ceil(end - at) for key, end, rate in rows if counts.get(key, 0) >= rate.limit]
    return max(waits) if waits else None


def _windows(limits: Mapping[str, Rate], at: float) -> list[tuple[str, int, Rate]]:
    """(stored key, end of the current window as Unix time, rate) per key, in key order."""
    # The period is part of the stored key: windows of two periods can end at the same
    # moment (a minute's and an hour's, on the hour) and must not share a count.
    return sorted(
        (
            (f"{key}/{rate.seconds}s", (math.floor(at / rate.seconds) + 1) * rate.seconds, rate)
            for key, rate in limits.items()
        ),
        key=lambda row: row[0],
    )


def _columns(rows: list[tuple[str, int, Rate]]) -> list[list[str] | list[datetime]]:
    """The keys and the window ends, as the two arrays the statements unnest."""
    return [[key for key, _, _ in rows], [datetime.fromtimestamp(end, UTC) for _, end, _ in rows]]


@transaction.atomic
def windows_prune() -> int:
    """Delete the windows that have ended; they are never read again."""
    count, _ = RateLimitWindow.objects.filter(window_end__lte=timezone.now()).delete()
    return count
