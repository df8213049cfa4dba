"""The hourly delivery rollups (leads.DeliveryHour) the health page reads: what the
periodic recount writes from the deliveries, late and moved rows, missed runs, and
percentiles read from bucket counts."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from leads.models import Delivery, DeliveryHour, DeliveryHoursRefresh, DeliveryState
from leads.rollups import BUCKETS, LATENCY_BOUNDS, bucket_label, percentile_bucket
from leads.services import delivery_hours_refresh
from leads.tasks import refresh_delivery_hours
from tests.factories import ApplicationFactory, SubscriptionFactory
from tests.leads.deliveries import make_deliveries

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 14, 20, tzinfo=UTC)
HOUR = NOW.replace(minute=0)


@pytest.fixture
def subscription(site, application):
    return SubscriptionFactory.create(
        site=site, application=application, url="https://hooks.piesync.test/h", secret="s"
    )


def finish(subscription, state, *, at, latency=0.003, count=1):
    """`count` deliveries committed `latency` seconds before they finished `at`."""
    return make_deliveries(
        subscription,
        state,
        count=count,
        finished=at,
        created=at - timedelta(seconds=latency),
    )


def hours(subscription=None):
    """{hour: (delivered, ignored, failed, cancelled)} of the subscription's rollups."""
    return {
        row.hour: (row.delivered, row.ignored, row.failed, row.cancelled)
        for row in DeliveryHour.objects.filter(subscription=subscription)
    }


def test_the_first_refresh_counts_each_hour_of_the_last_days_by_outcome(subscription):
    finish(subscription, DeliveryState.DELIVERED, at=NOW - timedelta(minutes=5), count=3)
    finish(subscription, DeliveryState.IGNORED, at=NOW - timedelta(minutes=10))
    finish(subscription, DeliveryState.FAILED, at=NOW - timedelta(hours=1), count=2)
    finish(subscription, DeliveryState.CANCELLED, at=NOW - timedelta(days=6, minutes=30))
    make_deliveries(subscription, DeliveryState.PENDING, count=4)

    delivery_hours_refresh(now=NOW)

    assert hours(subscription) == {
        HOUR: (3, 1, 0, 0),
        HOUR - timedelta(hours=1): (0, 0, 2, 0),
        HOUR - timedelta(days=6, hours=1): (0, 0, 0, 1),
    }
    assert DeliveryHoursRefresh.objects.get().refreshed == NOW


def test_latency_is_counted_in_its_bucket_for_received_deliveries_only(subscription):
    at = NOW - timedelta(minutes=1)
    finish(subscription, DeliveryState.DELIVERED, at=at, latency=0.003)  # below 5 ms
    finish(subscription, DeliveryState.DELIVERED, at=at, latency=0.04, count=2)  # 25-50 ms
    finish(subscription, DeliveryState.IGNORED, at=at, latency=7200)  # 1-4 h
    finish(subscription, DeliveryState.DELIVERED, at=at, latency=5 * 86400)  # past 3 days
    finish(subscription, DeliveryState.FAILED, at=at, latency=0.04)  # not received

    delivery_hours_refresh(now=NOW)

    latency = DeliveryHour.objects.get().latency
    assert len(latency) == BUCKETS
    expected = [0] * BUCKETS
    expected[0] = 1
    expected[LATENCY_BOUNDS.index(0.05)] = 2
    expected[LATENCY_BOUNDS.index(4 * 3600.0)] = 1
    expected[-1] = 1
    assert latency == expected


def test_a_delivery_that_commits_late_is_counted_in_the_hour_it_finished(subscription):
    delivery_hours_refresh(now=HOUR + timedelta(seconds=30))
    # Finished before the hour and that refresh, committed after them.
    finish(subscription, DeliveryState.DELIVERED, at=HOUR - timedelta(seconds=1))

    delivery_hours_refresh(now=HOUR + timedelta(seconds=90))

    assert hours(subscription) == {HOUR - timedelta(hours=1): (1, 0, 0, 0)}


def test_a_refresh_recounts_only_the_current_hour_once_past_the_margin(subscription):
    delivery_hours_refresh(now=NOW)
    # Written by hand long after it finished: what no delivery path does.
    finish(subscription, DeliveryState.DELIVERED, at=HOUR - timedelta(minutes=30))

    delivery_hours_refresh(now=NOW + timedelta(minutes=1))

    assert hours(subscription) == {}


def test_hours_are_recounted_not_added_to(subscription):
    finish(subscription, DeliveryState.FAILED, at=NOW - timedelta(minutes=3), count=2)
    delivery_hours_refresh(now=NOW)
    delivery_hours_refresh(now=NOW + timedelta(minutes=1))
    assert hours(subscription) == {HOUR: (0, 0, 2, 0)}

    # One of them redelivered and delivered: it leaves the failed count.
    redelivered = Delivery.objects.filter(state=DeliveryState.FAILED).first()
    assert redelivered is not None
    Delivery.objects.filter(pk=redelivered.pk).update(
        state=DeliveryState.DELIVERED, finished=NOW + timedelta(minutes=5)
    )
    delivery_hours_refresh(now=NOW + timedelta(minutes=6))
    assert hours(subscription) == {HOUR: (1, 0, 1, 0)}


def test_an_hour_whose_deliveries_are_gone_is_emptied(subscription):
    finish(subscription, DeliveryState.DELIVERED, at=NOW - timedelta(minutes=10))
    delivery_hours_refresh(now=NOW)
    Delivery.objects.all().delete()

    delivery_hours_refresh(now=NOW + timedelta(minutes=1))

    assert hours(subscription) == {}


def test_a_deleted_subscriptions_recent_hours_move_to_no_subscription(subscription):
    finish(subscription, DeliveryState.DELIVERED, at=NOW - timedelta(minutes=5))
    finish(subscription, DeliveryState.FAILED, at=NOW - timedelta(days=3))
    delivery_hours_refresh(now=NOW)
    subscription_id = subscription.pk
    subscription.delete()  # its deliveries are kept, with no subscription

    delivery_hours_refresh(now=NOW + timedelta(minutes=1))

    assert hours(None) == {HOUR: (1, 0, 0, 0)}
    # Older hours are not recounted: they stay under the subscription's id.
    assert hours(subscription_id) == {HOUR - timedelta(days=3): (0, 0, 1, 0)}


def test_missed_refreshes_are_caught_up_from_the_last_one(subscription):
    delivery_hours_refresh(now=NOW - timedelta(hours=6))
    finish(subscription, DeliveryState.DELIVERED, at=NOW - timedelta(hours=5, minutes=50))

    delivery_hours_refresh(now=NOW)

    assert hours(subscription) == {HOUR - timedelta(hours=6): (1, 0, 0, 0)}


def test_rollups_older_than_eight_days_are_dropped(subscription):
    finish(subscription, DeliveryState.FAILED, at=NOW - timedelta(days=7, hours=12))
    delivery_hours_refresh(now=NOW)
    assert len(hours(subscription)) == 1

    delivery_hours_refresh(now=NOW + timedelta(days=1))

    assert hours(subscription) == {}


def test_each_subscription_has_its_own_rows(subscription, site):
    other = SubscriptionFactory.create(
        site=site, application=ApplicationFactory.create(), url="https://x.test/h", secret="s"
    )
    finish(subscription, DeliveryState.DELIVERED, at=NOW - timedelta(minutes=5), count=2)
    finish(other, DeliveryState.FAILED, at=NOW - timedelta(minutes=5))

    delivery_hours_refresh(now=NOW)

    assert hours(subscription) == {HOUR: (2, 0, 0, 0)}
    assert hours(other) == {HOUR: (0, 0, 1, 0)}


def test_the_periodic_task_refreshes_up_to_now(subscription):
    finish(subscription, DeliveryState.DELIVERED, at=timezone.now() - timedelta(seconds=5))

    refresh_delivery_hours(timestamp=0)

    (row,) = DeliveryHour.objects.all()
    assert row.delivered == 1
    assert timezone.now() - DeliveryHoursRefresh.objects.get().refreshed < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("counts", "fraction", "expected"),
    [
        ([0, 0, 0], 0.5, None),
        ([10, 0, 0], 0.99, 0),
        ([50, 50, 0], 0.5, 0),
        ([49, 51, 0], 0.5, 1),
        ([98, 1, 1], 0.99, 1),
        ([98, 0, 2], 0.99, 2),
    ],
)
def test_a_percentile_is_the_bucket_its_rank_falls_in(counts, fraction, expected):
    assert percentile_bucket(counts, fraction) == expected


def test_bucket_labels_say_the_upper_bound():
    assert bucket_label(0) == "≤ 5 ms"
    assert bucket_label(LATENCY_BOUNDS.index(2.5)) == "≤ 2.5 s"
    assert bucket_label(LATENCY_BOUNDS.index(1800.0)) == "≤ 30 min"
    assert bucket_label(LATENCY_BOUNDS.index(4 * 3600.0)) == "≤ 4 h"
    assert bucket_label(BUCKETS - 1) == "> 3 d"
