"""The retry arithmetic (leads/delivery/retry.py): the schedule with its jitter, and the
partner's Retry-After."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from leads.delivery.retry import parse_retry_after, retry_delay


def test_retry_delays_follow_the_schedule_with_jitter_then_stop(knobs):
    knobs.DELIVERY_RETRY_SCHEDULE = [5, 60, 300]

    for attempt, base in enumerate([5, 60, 300], start=1):
        delays = {retry_delay(attempt, None) for _ in range(50)}
        assert all(delay is not None and base * 0.8 <= delay <= base * 1.2 for delay in delays)
        assert len(delays) > 1  # jitter
    assert retry_delay(4, None) is None


def test_retry_after_lengthens_the_delay_but_never_shortens_it(knobs):
    knobs.DELIVERY_RETRY_SCHEDULE = [5]

    assert retry_delay(1, timedelta(seconds=30)) == 30
    delay = retry_delay(1, timedelta(seconds=1))
    assert delay is not None and 4 <= delay <= 6


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert parse_retry_after("120") == timedelta(seconds=120)
    later = datetime.now(UTC) + timedelta(seconds=90)
    parsed = parse_retry_after(format_datetime(later, usegmt=True))
    assert parsed is not None and timedelta(seconds=85) <= parsed <= timedelta(seconds=91)
    assert parse_retry_after("-5") == timedelta(0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("99999999") == timedelta(hours=24)


def test_an_absurd_retry_after_is_capped_not_an_error():
    # timedelta() overflows past 999,999,999 days: a partner's header must not crash the job.
    assert parse_retry_after("9" * 30) == timedelta(hours=24)


def test_a_retry_after_date_too_large_for_a_datetime_is_ignored_not_an_error():
    # parsedate_to_datetime raises OverflowError on such a day.
    assert parse_retry_after("Wed, 99999999999999999999 Dec 2026 23:00:00 GMT") is None


def test_a_retry_after_date_in_asctime_form_is_read_as_gmt():
    """RFC 9110 §5.6.7: recipients accept the obsolete asctime form, which has no zone,
    and every HTTP-date is GMT."""
    later = datetime.now(UTC) + timedelta(hours=2)
    parsed = parse_retry_after(later.strftime("%a %b %d %H:%M:%S %Y"))
    assert parsed is not None and timedelta(minutes=119) <= parsed <= timedelta(hours=2)
