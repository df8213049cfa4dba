"""The PostgreSQL counters (ratelimits.services), with explicit clocks."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ratelimits.models import RateLimitWindow
from ratelimits.rates import Rate
from ratelimits.services import windows_full, windows_hit, windows_prune

THREE_PER_MINUTE = Rate(limit=3, seconds=60)
T = 1_800_000_015.25  # 15.25 s into a minute (and an hour)


def hits(key: str, rate: Rate, times: int, now: float = T) -> list[int | None]:
    return [windows_hit(limits={key: rate}, now=now) for _ in range(times)]


def test_requests_up_to_the_limit_pass(db):
    assert hits("k", THREE_PER_MINUTE, 3) == [None, None, None]


def test_past_the_limit_the_wait_is_the_rest_of_the_window(db):
    window_end = (T // 60 + 1) * 60

    assert hits("k", THREE_PER_MINUTE, 5)[3:] == [int(window_end - T) + 1] * 2


def test_the_next_window_starts_from_zero(db):
    hits("k", THREE_PER_MINUTE, 4)
    next_window = (T // 60 + 1) * 60

    assert hits("k", THREE_PER_MINUTE, 3, now=next_window) == [None, None, None]
    assert hits("k", THREE_PER_MINUTE, 1, now=next_window)[0] == 60


def test_keys_are_counted_apart(db):
    hits("a", THREE_PER_MINUTE, 4)

    assert hits("b", THREE_PER_MINUTE, 1) == [None]


def test_windows_of_different_periods_that_end_together_are_counted_apart(db):
    on_the_hour = 1_800_003_600 - 1.0  # 59 s into the last minute of an hour
    hits("k", Rate(limit=1, seconds=60), 1, now=on_the_hour)

    assert hits("k", Rate(limit=1, seconds=3600), 1, now=on_the_hour) == [None]


def test_several_keys_are_checked_in_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        windows_hit(limits={"ip": THREE_PER_MINUTE, "client": Rate(5, 3600)}, now=T)


def test_the_longest_wait_of_the_keys_over_their_limit_is_returned(db):
    minute, hour = Rate(limit=1, seconds=60), Rate(limit=1, seconds=3600)
    windows_hit(limits={"ip": minute, "client": hour}, now=T)

    wait = windows_hit(limits={"ip": minute, "client": hour}, now=T)

    assert wait == int((T // 3600 + 1) * 3600 - T) + 1


def test_one_key_over_its_limit_refuses_the_request(db):
    windows_hit(limits={"ip": Rate(limit=1, seconds=60)}, now=T)

    assert windows_hit(limits={"ip": Rate(1, 60), "client": Rate(100, 60)}, now=T) is not None


def test_no_limits_cost_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert windows_hit(limits={}) is None


def test_prune_deletes_ended_windows_only(db):
    now = timezone.now()
    RateLimitWindow.objects.create(key="old", window_end=now - timedelta(seconds=1), hits=9)
    RateLimitWindow.objects.create(key="live", window_end=now + timedelta(seconds=30), hits=2)

    assert windows_prune() == 1
    assert list(RateLimitWindow.objects.values_list("key", flat=True)) == ["live"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_are_all_counted():
    """The upsert is atomic: 200 hits from 20 threads at once refuse exactly 50 of 150/m."""
    barrier = threading.Barrier(20)
    rate = Rate(limit=150, seconds=60)

    def ten_hits(_: int) -> list[int | None]:
        try:
            barrier.wait(timeout=30)
            return hits("shared", rate, 10)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = [wait for batch in pool.map(ten_hits, range(20)) for wait in batch]

    assert sum(wait is not None for wait in results) == 50
    (window,) = RateLimitWindow.objects.all()
    assert window.hits == 200
    assert window.window_end == datetime.fromtimestamp((T // 60 + 1) * 60, UTC)


# --- windows_full: a limit on failures, checked without counting ----------------------------


def test_full_counts_nothing(db):
    for _ in range(5):
        assert windows_full(limits={"k": THREE_PER_MINUTE}, now=T) is None

    assert hits("k", THREE_PER_MINUTE, 3) == [None, None, None]


def test_full_once_the_limit_is_counted_with_the_rest_of_the_window(db, django_assert_num_queries):
    hits("k", THREE_PER_MINUTE, 2)
    assert windows_full(limits={"k": THREE_PER_MINUTE}, now=T) is None
    hits("k", THREE_PER_MINUTE, 1)

    with django_assert_num_queries(1):
        wait = windows_full(limits={"k": THREE_PER_MINUTE}, now=T)

    assert wait == int((T // 60 + 1) * 60 - T) + 1
    next_window = (T // 60 + 1) * 60
    assert windows_full(limits={"k": THREE_PER_MINUTE}, now=next_window) is None


def test_full_without_limits_costs_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert windows_full(limits={}) is None


def test_a_checked_key_under_its_limit_lets_the_count_pass(db):
    hits("failures", THREE_PER_MINUTE, 2)

    assert (
        windows_hit(limits={"k": THREE_PER_MINUTE}, full={"failures": THREE_PER_MINUTE}, now=T)
        is None
    )
    assert RateLimitWindow.objects.get(key="k/60s").hits == 1


def test_a_checked_key_at_its_limit_answers_its_wait_and_is_not_counted(db):
    hits("failures", Rate(limit=3, seconds=3600), 3)
    hour_end = (T // 3600 + 1) * 3600

    wait = windows_hit(
        limits={"k": THREE_PER_MINUTE}, full={"failures": Rate(limit=3, seconds=3600)}, now=T
    )

    assert wait == int(hour_end - T) + 1
    assert RateLimitWindow.objects.get(key="failures/3600s").hits == 3
    assert RateLimitWindow.objects.get(key="k/60s").hits == 1


def test_keys_are_checked_alone_in_the_same_statement(db, django_assert_num_queries):
    hits("failures", THREE_PER_MINUTE, 3)

    with django_assert_num_queries(1):
        wait = windows_hit(limits={}, full={"failures": THREE_PER_MINUTE}, now=T)

    assert wait == windows_full(limits={"failures": THREE_PER_MINUTE}, now=T)
    assert RateLimitWindow.objects.get(key="failures/60s").hits == 3


def test_a_key_is_either_counted_or_checked(db):
    with pytest.raises(ValueError, match="either counted or checked"):
        windows_hit(limits={"k": THREE_PER_MINUTE}, full={"k": THREE_PER_MINUTE}, now=T)
