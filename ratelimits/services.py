"""Request counters in PostgreSQL, shared by every web process on every machine.

Fixed windows: a key's count starts again at each multiple of its rate's period (on the
Unix clock), so a client can send up to twice its limit across a window boundary.
"""

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from .models import RateLimitWindow
from .rates import Rate

_TABLE = RateLimitWindow._meta.db_table


def windows_hit(*, limits: Mapping[str, Rate], now: float | None = None) -> int | None:
    """Count one request under each key; the seconds to wait (for `Retry-After`) if that
    took any key over its limit, else None.

    One `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` for all the keys: one round trip,
    atomic on its own. Deliberately no transaction around it: a transaction would cost a
    COMMIT round trip, and one that went on into the request's work would keep the counter
    row locked, and the client's other requests waiting, until it committed. Rows are
    written in key order, so that concurrent statements lock shared rows in the same order.
    """
    if not limits:
        return None
    at = time.time() if now is None else now
    rows = _windows(limits, at)
    values = ", ".join(["(%s, %s, 1)"] * len(rows))
    params = [param for key, end, _ in rows for param in (key, datetime.fromtimestamp(end, UTC))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (key, window_end, hits) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (key, window_end) DO UPDATE SET hits = {_TABLE}.hits + 1 "
            "RETURNING key, hits",
            params,
        )
        counts = dict(cursor.fetchall())
    waits = [math.ceil(end - at) for key, end, rate in rows if counts[key] > rate.limit]
    return max(waits) if waits else None


def windows_full(*, limits: Mapping[str, Rate], now: float | None = None) -> int | None:
    """The seconds to wait if any key has already counted its limit in its current
    window, else None. Counts nothing: for limits on what a request turns out to be (a
    failure), checked before its work. One primary-key SELECT."""
    if not limits:
        return None
    at = time.time() if now is None else now
    rows = _windows(limits, at)
    conditions = " OR ".join(["(key = %s AND window_end = %s)"] * len(rows))
    params = [param for key, end, _ in rows for param in (key, datetime.fromtimestamp(end, UTC))]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, hits FROM {_TABLE} WHERE {conditions}", params)  # noqa: S608
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


@transaction.atomic
def windows_prune() -> int:
    """Delete the windows that have ended; they are never read again."""
    count, _ = RateLimitWindow.objects.filter(window_end__lte=timezone.now()).delete()
    return count
