"""Delivery metrics on `/metrics`, after deliveries to a real receiver and with pending
rows; tests/leads/test_metrics_worker.py scrapes a real gunicorn in multiprocess mode
after a real worker delivered."""

import contextlib
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from psycopg_pool import AsyncConnectionPool

from leads.delivery.attempt import deliver_once
from leads.delivery.retry import PartnerBusy, RetryDelivery
from leads.delivery.slots import partner_slot
from leads.models import Delivery, DeliveryState
from leads.services import lead_create
from subscriptions.services import subscription_delete, subscription_put
from tests.leads.worker import Receiver, Reply, deliver_now, with_worker_pool
from tests.metrics import (
    DELIVERIES,
    DELIVERY_LATENCY,
    OLDEST_AGE,
    QUEUE_DEPTH,
    Samples,
    scrape,
    value,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


def latency_observations(samples: Samples) -> float:
    return sum(value(samples, DELIVERY_LATENCY, outcome=o) for o in ("delivered", "failed"))


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def pending_delivery(site, application, url: str) -> Delivery:
    subscription_put(site=site, application=application, url=url, secret="partner-secret")
    lead = lead_create(site=site, fields={"source": "Website", "first_name": "Jack"})
    return Delivery.objects.get(lead=lead)


# ---------------------------------------------------------------------------
# deliveries

# The attempts run as in the worker, on connections of their own: data is committed.
in_worker = pytest.mark.django_db(transaction=True)


@in_worker
@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (204, "delivered"), (406, "ignored"), (400, "failed"), (410, "failed")],
)
def test_an_answer_that_finishes_a_delivery_counts_its_outcome_and_latency(
    receiver, site, application, status, outcome
):
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    receiver.script("/hook", Reply(status=status))
    before = scrape()

    deliver_now(delivery)

    after = scrape()
    assert receiver.answered("/hook")[0].status == status
    assert value(after, DELIVERIES, outcome=outcome) == (
        value(before, DELIVERIES, outcome=outcome) + 1
    )
    assert value(after, DELIVERY_LATENCY, outcome=outcome) == (
        value(before, DELIVERY_LATENCY, outcome=outcome) + 1
    )


@in_worker
def test_delivery_latency_runs_from_the_commit_to_the_answer(receiver, site, application):
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    # As if committed two minutes ago (a partner that was down, say).
    Delivery.objects.filter(pk=delivery.pk).update(created=timezone.now() - timedelta(minutes=2))
    before = scrape()

    deliver_now(delivery)

    after = scrape()
    bucket = "realgeeks_delivery_latency_seconds_bucket"
    # Observed in the (60, 300] bucket: above 60 s, at most 300 s.
    assert value(after, bucket, outcome="delivered", le="60.0") == value(
        before, bucket, outcome="delivered", le="60.0"
    )
    assert value(after, bucket, outcome="delivered", le="300.0") == (
        value(before, bucket, outcome="delivered", le="300.0") + 1
    )


@in_worker
def test_a_retryable_answer_counts_retried_and_no_latency(receiver, site, application):
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    receiver.script("/hook", Reply(status=503))
    before = scrape()

    with pytest.raises(RetryDelivery):
        deliver_now(delivery)

    after = scrape()
    assert value(after, DELIVERIES, outcome="retried") == (
        value(before, DELIVERIES, outcome="retried") + 1
    )
    assert value(after, DELIVERIES, outcome="failed") == value(before, DELIVERIES, outcome="failed")
    assert latency_observations(after) == latency_observations(before)


@in_worker
def test_a_partner_without_a_free_slot_counts_deferred(receiver, site, application, knobs):
    knobs.DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION = 1
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    subscription_id = delivery.subscription_id
    assert subscription_id is not None
    before = scrape()

    async def attempt_with_every_slot_taken(pool: AsyncConnectionPool[Any]) -> None:
        async with partner_slot(subscription_id):
            await deliver_once(str(delivery.id), database=pool)

    with pytest.raises(PartnerBusy):
        with_worker_pool(attempt_with_every_slot_taken)

    after = scrape()
    assert value(after, DELIVERIES, outcome="deferred") == (
        value(before, DELIVERIES, outcome="deferred") + 1
    )
    assert receiver.requests() == []


def test_deleting_a_subscription_counts_its_pending_deliveries_cancelled(
    receiver, site, application, on_commit
):
    pending_delivery(site, application, receiver.url("/hook"))
    lead_create(site=site, fields={"source": "Website", "first_name": "Jill"})
    before = scrape()

    with on_commit():
        subscription_delete(site=site, application=application)

    after = scrape()
    assert value(after, DELIVERIES, outcome="cancelled") == (
        value(before, DELIVERIES, outcome="cancelled") + 2
    )


def test_a_delivery_refused_for_a_full_backlog_counts_failed(
    receiver, site, application, knobs, on_commit
):
    knobs.DELIVERY_MAX_PENDING_PER_SUBSCRIPTION = 1
    pending_delivery(site, application, receiver.url("/hook"))
    before = scrape()

    with on_commit():
        lead_create(site=site, fields={"source": "Website", "first_name": "Jill"})

    after = scrape()
    assert value(after, DELIVERIES, outcome="failed") == (
        value(before, DELIVERIES, outcome="failed") + 1
    )


class Rollback(Exception):
    pass


def test_a_rolled_back_delivery_outcome_is_not_counted(receiver, site, application, on_commit):
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    before = scrape()

    with on_commit(), contextlib.suppress(Rollback), transaction.atomic():
        subscription_delete(site=site, application=application)
        raise Rollback

    after = scrape()
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.PENDING
    assert value(after, DELIVERIES, outcome="cancelled") == value(
        before, DELIVERIES, outcome="cancelled"
    )


# ---------------------------------------------------------------------------
# the queue, read from the database at scrape time


def test_an_empty_queue_has_depth_and_age_zero():
    samples = scrape()

    assert value(samples, QUEUE_DEPTH) == 0
    assert value(samples, OLDEST_AGE) == 0


def test_pending_deliveries_are_the_queue_depth(receiver, site, application):
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    lead_create(site=site, fields={"source": "Website", "first_name": "Jill"})
    # A finished one is not in the queue.
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.DELIVERED)
    lead_create(site=site, fields={"source": "Website", "first_name": "Joe"})

    assert value(scrape(), QUEUE_DEPTH) == 2


def test_without_the_queue_table_the_scrape_answers_without_the_queue_gauges(caplog):
    """A database error leaves the queue gauges out, logged; the other metrics answer.
    (The rename is undone with the test's transaction.)"""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {Delivery._meta.db_table} RENAME TO deliveries_elsewhere")

    samples = scrape()

    names = {name for name, _ in samples}
    assert QUEUE_DEPTH not in names
    assert OLDEST_AGE not in names
    assert DELIVERIES in names
    assert "metrics: delivery queue not read: ProgrammingError" in caplog.text


def test_the_oldest_pending_delivery_sets_the_age(receiver, site, application):
    oldest = pending_delivery(site, application, receiver.url("/hook"))
    lead_create(site=site, fields={"source": "Website", "first_name": "Jill"})
    Delivery.objects.filter(pk=oldest.pk).update(created=timezone.now() - timedelta(minutes=10))

    age = value(scrape(), OLDEST_AGE)

    assert 600 <= age < 660
