"""Request counters in PostgreSQL, shared by every web process on every machine.

Fixed windows: a key's count starts again at each multiple of its rate's period (on the
Unix clock), so a client can send up to twice its limit across a window boundary.
"""

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.db import prepared_cursor

from .models import RateLimitWindow
from .rates import Rate

# A request's count and check, as CTEs that a statement starts with (`WITH {HIT_CTES}`),
# fixed whatever the number of keys (arrays, not generated placeholders): `hit` counts the
# request under each counted key, in key order, so that concurrent statements lock shared
# rows in the same order; `hit_counts` has each key's count, the counted keys' after this
# one and the checked keys' as they were (other keys than the counted ones); and
# `hit_over` whether any key is past its limit (its count above `threshold`), so that
# the statement's own writes can be made only when the request is within its limits.
HIT_CTES = """
    hit_window AS (
        SELECT * FROM unnest(%(hit_keys)s::text[], %(hit_ends)s::timestamptz[],
            %(hit_thresholds)s::integer[], %(hit_counted)s::boolean[])
            WITH ORDINALITY AS w (key, window_end, threshold, counted, n)
    ), hit AS (
        INSERT INTO ratelimits_ratelimitwindow (key, window_end, hits)
        SELECT key, window_end, 1 FROM hit_window WHERE counted ORDER BY n
        ON CONFLICT (key, window_end) DO UPDATE SET hits = ratelimits_ratelimitwindow.hits + 1
        RETURNING key, hits
    ), hit_counts AS (
        SELECT key, hits FROM hit
        UNION ALL
        SELECT r.key, r.hits FROM ratelimits_ratelimitwindow AS r
        JOIN hit_window AS w ON w.key = r.key AND w.window_end = r.window_end
        WHERE NOT w.counted
    ), hit_over AS (
        SELECT EXISTS (
            SELECT FROM hit_counts AS c JOIN hit_window AS w ON w.key = c.key
            WHERE c.hits > w.threshold
        ) AS over
    )
"""
_HIT = f"WITH {HIT_CTES} SELECT key, hits FROM hit_counts"  # noqa: S608 (constant SQL)


@dataclass(frozen=True)
class Hit:
    """One request to count under some limits and check against others (`Hit.of`): the
    parameters of HIT_CTES, and what the counts it gives mean."""

    counted: list[tuple[str, int, Rate]]  # (stored key, window end as Unix time, rate)
    checked: list[tuple[str, int, Rate]]
    at: float

    @classmethod
    def of(
        cls,
        *,
        limits: Mapping[str, Rate],
        full: Mapping[str, Rate] | None = None,
        now: float | None = None,
    ) -> "Hit":
        """Count under each key of `limits`; past it if that takes any over its limit, or
        if any key of `full` has already counted its limit (checked, not counted)."""
        full = full or {}
        if limits.keys() & full.keys():
            raise ValueError("A key is either counted or checked")
        at = time.time() if now is None else now
        return cls(counted=_windows(limits, at), checked=_windows(full, at), at=at)

    def __bool__(self) -> bool:
        return bool(self.counted or self.checked)

    def params(self) -> dict[str, list[Any]]:
        """HIT_CTES' parameters: the counted keys first, each in key order."""
        rows = self._rows()
        return {
            "hit_keys": [key for key, _, _, _ in rows],
            "hit_ends": [datetime.fromtimestamp(end, UTC) for _, end, _, _ in rows],
            "hit_thresholds": [_threshold(rate, counted) for _, _, rate, counted in rows],
            "hit_counted": [counted for _, _, _, counted in rows],
        }

    def retry_after(self, counts: Mapping[str, int]) -> int | None:
        """The seconds to wait (for `Retry-After`) if the counts (`hit_counts`) put the
        request past any limit, else None."""
        waits = [
            math.ceil(end - self.at)
            for key, end, rate, counted in self._rows()
            if counts.get(key, 0) > _threshold(rate, counted)
        ]
        return max(waits) if waits else None

    def _rows(self) -> list[tuple[str, int, Rate, bool]]:
        """(key, window end, rate, counted) of every key, the counted ones first."""
        return [(*row, True) for row in self.counted] + [(*row, False) for row in self.checked]


def _threshold(rate: Rate, counted: bool) -> int:
    """The count past which a key refuses the request: its limit for a key this request
    is counted in, one less for a key only checked (refused once at its limit)."""
    return rate.limit if counted else rate.limit - 1


class OverLimit(Exception):
    """A statement that carried a Hit found the request past a limit, and wrote nothing
    of its own."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Past a rate limit; retry after {retry_after} s")
        self.retry_after = retry_after


def windows_hit(
    *,
    limits: Mapping[str, Rate],
    full: Mapping[str, Rate] | None = None,
    now: float | None = None,
) -> int | None:
    """Count one request under each key of `limits`; the seconds to wait (for
    `Retry-After`) if that took any key over its limit, or if any key of `full` has
    already counted its limit (as `windows_full`, counting nothing there), else None.

    The request's `Hit` in a statement of its own (`_HIT`): one round trip, atomic on its
    own. Deliberately no transaction around it: a transaction would cost a COMMIT round
    trip, and one that went on into the request's work would keep the counter row locked,
    and the client's other requests waiting, until it committed.
    """
    return hit_record(Hit.of(limits=limits, full=full, now=now))


def hit_record(hit: Hit) -> int | None:
    """`windows_hit` of a Hit already made."""
    if not hit:
        return None
    with prepared_cursor() as cursor:
        cursor.execute(_HIT, hit.params())
        return hit.retry_after(dict(cursor.fetchall()))


def windows_full(*, limits: Mapping[str, Rate], now: float | None = None) -> int | None:
    """The seconds to wait if any key has already counted its limit in its current
    window, else None. Counts nothing: for limits on what a request turns out to be (a
    failure), checked before its work. A Hit with nothing to count: one statement."""
    return hit_record(Hit.of(limits={}, full=limits, now=now))


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
