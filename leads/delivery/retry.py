"""When a delivery is tried again: the schedule, the partner's Retry-After, which
outcomes may pass on a later try, and the back-off of a delivery whose partner is busy."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from ..conf import app_settings
from .http import Answer

MAX_RETRY_AFTER = timedelta(hours=24)
BUSY_MAX_DELAY_SECONDS = 60.0


class RetryDelivery(Exception):
    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.1f}s")
        self.delay = delay


class PartnerBusy(RetryDelivery):
    """No attempt was made: the partner already has its share of requests in flight."""


def parse_retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    try:
        # Clamped before timedelta(), which overflows on absurd values.
        seconds = int(value)
        delay = timedelta(seconds=min(max(0, seconds), MAX_RETRY_AFTER.total_seconds()))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        # RFC 9110 §5.6.7: an HTTP-date is GMT, the asctime form that names no zone too.
        delay = when.replace(tzinfo=when.tzinfo or UTC) - datetime.now(UTC)
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def is_retryable(answer: Answer) -> bool:
    """5xx, 408, 429, timeouts and connection errors may pass on a later try."""
    if answer.status_code is None:
        return not answer.refused
    return answer.status_code in (408, 429) or answer.status_code >= 500


def retry_delay(attempt: int, retry_after: timedelta | None) -> float | None:
    """Seconds before the next attempt, or None when the schedule is used up."""
    schedule: list[int] = app_settings.DELIVERY_RETRY_SCHEDULE
    if attempt > len(schedule):
        return None
    base = schedule[attempt - 1]
    delay = base * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not security)
    if retry_after is not None:
        delay = max(delay, retry_after.total_seconds())
    return delay


def busy_delay(deferrals: int) -> float:
    """About 1 s, doubling with each deferral up to a minute, with jitter: a backlog
    behind a hanging partner (slots.py) does not spin the worker."""
    base = min(BUSY_MAX_DELAY_SECONDS, 2.0 ** min(deferrals, 10))
    return base * random.uniform(0.75, 1.25)  # noqa: S311 (jitter, not security)
