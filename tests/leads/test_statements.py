"""The backlog counters (leads.DeliveryBacklog) and the statement that records an event
(leads/statements.py): every way into and out of `pending` keeps each counter equal to
its subscription's pending deliveries, the services' and the delivery worker's alike."""

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.db.models import Count
from procrastinate.contrib.django.models import ProcrastinateJob
from psycopg_pool import AsyncConnectionPool

from core.errors import Conflict
from core.ids import uuid7_time
from core.request_id import bound_request_id
from leads import services
from leads.delivery.attempt import deliver_once
from leads.delivery.job import deliver, delivery_lock
from leads.delivery.retry import PartnerBusy, RetryDelivery
from leads.delivery.slots import partner_slot
from leads.models import Delivery, DeliveryBacklog, DeliveryState, Lead
from subscriptions.models import Subscription
from subscriptions.services import subscription_deactivate, subscription_delete, subscription_put
from tests.factories import ApplicationFactory
from tests.leads.samples import LEAD
from tests.leads.worker import Receiver, Reply, corrupt_secret, deliver_now, with_worker_pool


def put_subscription(**fields: Any) -> Subscription:
    """`subscription_put`, and the row it made (the service returns nothing)."""
    subscription_put(**fields)
    return Subscription.objects.get(site=fields["site"], application=fields["application"])


pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def counters() -> dict[int, int]:
    return {
        backlog.subscription_id: backlog.pending
        for backlog in DeliveryBacklog.objects.all()
        if backlog.pending
    }


def pending() -> dict[int, int]:
    rows = (
        Delivery.objects.filter(state=DeliveryState.PENDING, subscription__isnull=False)
        .values_list("subscription")
        .annotate(count=Count("pk"))
    )
    return dict(rows)


def assert_counted() -> None:
    assert counters() == pending()


@pytest.fixture
def subscription(site, application):
    return put_subscription(
        site=site, application=application, url="https://partner.test/hook", secret="s"
    )


def create(site, **fields: str) -> Lead:
    return services.lead_create(site=site, fields={**LEAD, **fields})


# --- the event's statement --------------------------------------------------------------


@pytest.mark.django_db
def test_each_event_takes_one_place_in_each_active_subscriptions_backlog(site, subscription):
    other = put_subscription(
        site=site, application=ApplicationFactory.create(), url="https://b.test/", secret="b"
    )
    subscription_deactivate(subscription_id=other.pk, reason="test")
    lead = create(site)
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})

    assert counters() == {subscription.pk: 2}
    assert_counted()


@pytest.mark.django_db
def test_its_rows_get_ids_that_start_with_their_time(site, subscription):
    """UUIDv7 (core.ids): the lead, its event and one delivery per subscription, each id
    new, and each starting with the lead's time."""
    put_subscription(
        site=site, application=ApplicationFactory.create(), url="https://b.test/", secret="b"
    )
    first = create(site)

    [event] = first.events.all()
    deliveries = list(first.deliveries.all())
    ids = [first.id, event.id, *(delivery.id for delivery in deliveries)]
    assert len(deliveries) == 2 and len(set(ids)) == 4
    assert {value.version for value in ids} == {7}
    assert {value.bytes[:6] for value in ids} == {uuid7_time(first.created)}


@pytest.mark.django_db
def test_the_leads_activities_are_stored_as_given_in_their_order(site):
    """Carried to PostgreSQL as one JSON array: text beyond the Basic Multilingual Plane,
    quotes and backslashes, a property or none, and each moment to the microsecond."""
    moment = datetime(2015, 4, 1, 8, 41, 51, 123456, tzinfo=UTC)
    given = [
        services.ActivityData(type="note", source="Agent", description='Said "hi" \\ 🏠'),
        services.ActivityData(
            type="property_viewed",
            source="Zillow",
            description="Viewed",
            property={"beds": 3, "price": 1.5e6, "tags": ["a", None]},
            created=moment,
        ),
    ]
    lead = services.lead_create(site=site, fields=LEAD, activities=given)

    stored = list(lead.activities.order_by("pk"))
    assert [(a.type, a.source, a.description, a.property) for a in stored] == [
        ("note", "Agent", 'Said "hi" \\ 🏠', None),
        ("property_viewed", "Zillow", "Viewed", {"beds": 3, "price": 1.5e6, "tags": ["a", None]}),
    ]
    assert stored[0].created == lead.created
    assert stored[1].created == moment


@pytest.mark.django_db
def test_a_lead_id_that_exists_takes_no_place(site, subscription):
    lead = create(site)

    with pytest.raises(Conflict):
        services.lead_create(site=site, fields=LEAD, lead_id=lead.id)

    assert counters() == {subscription.pk: 1}


@pytest.mark.django_db
def test_a_full_backlog_refuses_the_delivery_and_stays_full(site, subscription, knobs):
    knobs.DELIVERY_MAX_PENDING_PER_SUBSCRIPTION = 2
    for _ in range(3):
        create(site)

    assert sorted(Delivery.objects.values_list("state", flat=True)) == [
        DeliveryState.FAILED,
        DeliveryState.PENDING,
        DeliveryState.PENDING,
    ]
    assert counters() == {subscription.pk: 2}
    assert ProcrastinateJob.objects.filter(task_name=deliver.name).count() == 2


@pytest.mark.django_db
def test_the_jobs_are_those_deliver_later_queues(site, subscription):
    with bound_request_id("req-1"):
        lead = create(site)

    delivery = Delivery.objects.get(lead=lead)
    job = ProcrastinateJob.objects.get(task_name=deliver.name)
    expected = deliver.configure(lock=delivery_lock(delivery)).job
    assert (job.queue_name, job.priority, job.lock, job.queueing_lock) == (
        expected.queue,
        expected.priority,
        expected.lock,
        None,
    )
    assert job.args == {"delivery_id": str(delivery.pk), "request_id": "req-1"}


# --- the services -----------------------------------------------------------------------


@pytest.mark.django_db
def test_cancelling_and_redelivering_move_the_counter(site, subscription):
    create(site)
    create(site)

    services.deliveries_cancel_pending(subscription_id=subscription.pk, reason="test")
    assert_counted()
    services.deliveries_redeliver(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))

    assert counters() == {subscription.pk: 2}
    assert_counted()


@pytest.mark.django_db
def test_deleting_leads_takes_their_pending_deliveries_out(site, subscription):
    kept, deleted = create(site), create(site)

    assert services.leads_delete(lead_ids=[deleted.id]) == 1

    assert list(Lead.objects.all()) == [kept]
    assert counters() == {subscription.pk: 1}


@pytest.mark.django_db
def test_deleting_a_subscription_deletes_its_counter(site, application, subscription):
    create(site)

    subscription_delete(site=site, application=application)

    assert not DeliveryBacklog.objects.exists()


@pytest.mark.django_db
def test_the_repair_corrects_a_counter_a_write_around_the_services_left_wrong(
    site, subscription, caplog
):
    first, second = create(site), create(site)
    # Counted 2, one pending.
    Delivery.objects.filter(lead=first).update(state=DeliveryState.CANCELLED)
    other = put_subscription(
        site=site, application=ApplicationFactory.create(), url="https://b.test/", secret="b"
    )
    services.lead_update(site=site, lead_id=second.id, changes={"city": "Hilo"})
    # One pending, no counter.
    DeliveryBacklog.objects.filter(subscription=other).delete()

    with caplog.at_level(logging.WARNING, logger="leads.services"):
        assert services.delivery_backlogs_repair() == 2

    assert_counted()
    assert f"Backlog counter of subscription {subscription.pk} said 3" in caplog.text
    assert services.delivery_backlogs_repair() == 0


# --- the delivery worker ----------------------------------------------------------------
# On connections of its own, as in the worker: data is committed.


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def busy(delivery: Delivery) -> None:
    """An attempt while every slot with the partner is taken: put back, still pending."""
    assert delivery.subscription_id is not None
    subscription_id = delivery.subscription_id

    async def attempt(pool: AsyncConnectionPool[Any]) -> None:
        async with partner_slot(subscription_id):
            await deliver_once(str(delivery.id), database=pool)

    with_worker_pool(attempt)


def cancelled_in_flight(receiver: Receiver) -> Callable[[Delivery], None]:
    """The subscription's deliveries cancelled while the request is in flight."""

    def attempt(delivery: Delivery) -> None:
        subscription_id = delivery.subscription_id
        assert subscription_id is not None

        def cancel() -> None:
            try:
                services.deliveries_cancel_pending(subscription_id=subscription_id, reason="test")
            finally:
                connection.close()

        def cancel_then_answer(request: Any) -> Reply:
            thread = threading.Thread(target=cancel)
            thread.start()
            thread.join()
            return Reply(200)

        receiver.respond_with("/hook", cancel_then_answer)
        deliver_now(delivery)

    return attempt


def scripted(receiver: Receiver, *replies: Reply) -> Callable[[Delivery], None]:
    def attempt(delivery: Delivery) -> None:
        receiver.script("/hook", *replies)
        deliver_now(delivery)

    return attempt


def after(change: Callable[[], object]) -> Callable[[Delivery], None]:
    def attempt(delivery: Delivery) -> None:
        change()
        deliver_now(delivery)

    return attempt


# Each way: (attempts already made, the attempt, the state it leaves).
WAYS: dict[str, tuple[int, Callable[..., Callable[[Delivery], None]], DeliveryState]] = {
    "delivered": (0, lambda r, s: scripted(r, Reply(200)), DeliveryState.DELIVERED),
    "ignored": (0, lambda r, s: scripted(r, Reply(406)), DeliveryState.IGNORED),
    "failed": (0, lambda r, s: scripted(r, Reply(400)), DeliveryState.FAILED),
    "gone": (0, lambda r, s: scripted(r, Reply(410)), DeliveryState.FAILED),
    "retried": (0, lambda r, s: scripted(r, Reply(503)), DeliveryState.PENDING),
    "retries exhausted": (1, lambda r, s: scripted(r, Reply(503)), DeliveryState.FAILED),
    "partner busy": (0, lambda r, s: busy, DeliveryState.PENDING),
    "unexpected error": (
        0,
        lambda r, s: after(lambda: corrupt_secret(Subscription.objects.all())),
        DeliveryState.PENDING,
    ),
    "unexpected error exhausted": (
        1,
        lambda r, s: after(lambda: corrupt_secret(Subscription.objects.all())),
        DeliveryState.FAILED,
    ),
    "subscription deactivated": (
        0,
        lambda r, s: after(lambda: subscription_deactivate(subscription_id=s.pk, reason="t")),
        DeliveryState.CANCELLED,
    ),
    # Its key replaced in SUBSCRIPTION_SECRET_KEYS by the test.
    "secret unreadable": (0, lambda r, s: deliver_now, DeliveryState.FAILED),
    "cancelled in flight": (0, lambda r, s: cancelled_in_flight(r), DeliveryState.CANCELLED),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("way", WAYS)
def test_every_way_through_the_worker_leaves_each_counter_equal_to_the_pending_deliveries(
    way, receiver, site, application, knobs
):
    knobs.DELIVERY_RETRY_SCHEDULE = [5]
    knobs.DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION = 1  # a slot held is every slot
    subscription = put_subscription(
        site=site, application=application, url=receiver.url("/hook"), secret="s"
    )
    subscription_put(
        site=site, application=ApplicationFactory.create(), url=receiver.url("/b"), secret="b"
    )
    delivery = Delivery.objects.get(lead=create(site), subscription=subscription)
    create(site)
    made, attempt, state = WAYS[way]
    Delivery.objects.filter(pk=delivery.pk).update(attempts=made)
    if way == "secret unreadable":
        knobs.SUBSCRIPTION_SECRET_KEYS = [Fernet.generate_key().decode()]

    with contextlib.suppress(RetryDelivery, PartnerBusy):
        attempt(receiver, subscription)(delivery)

    delivery.refresh_from_db()
    assert delivery.state == state
    assert_counted()
