"""Lead services: the only writers of leads, and the only makers of events."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from core.errors import Conflict, InvalidFields, NotFound
from leads import services
from leads.delivery.job import deliver
from leads.models import Activity, Delivery, DeliveryState, Lead, LeadEvent
from subscriptions.models import Subscription
from tests.factories import ApplicationFactory, SiteFactory, SubscriptionFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

FIELDS = {"source": "Zillow", "first_name": "Ada", "email": "ada@example.com", "role": "Buyer"}

NOTE = services.ActivityData(type="note", source="Agent", description="Called back")


@pytest.fixture
def subscription(site, application):
    return SubscriptionFactory.create(
        site=site, application=application, url="https://api.piesync.test/hook", secret="s3cret"
    )


@pytest.fixture
def lead(site):
    """An existing lead, stored directly: no event, delivery or job to start with."""
    return Lead.objects.create(site=site, **FIELDS)


def jobs():
    return ProcrastinateJob.objects.filter(task_name=deliver.name)


def actions() -> list[str]:
    return list(LeadEvent.objects.values_list("action", flat=True))


# --- created ----------------------------------------------------------------------------


def test_create_records_one_created_event(site, subscription):
    lead = services.lead_create(site=site, fields=FIELDS)

    event = LeadEvent.objects.get()
    assert (event.lead, event.action) == (lead, "created")


def test_created_event_body_is_the_lead_as_created(site, subscription):
    lead = services.lead_create(site=site, fields=FIELDS, activities=[NOTE])

    body = json.loads(bytes(LeadEvent.objects.get().body))
    assert body["action"] == "created"
    assert body["id"] == lead.id.hex
    assert (body["first_name"], body["email"]) == ("Ada", "ada@example.com")
    assert [activity["type"] for activity in body["activities"]] == ["note"]


def test_create_makes_a_pending_delivery_for_the_active_subscription(site, subscription):
    lead = services.lead_create(site=site, fields=FIELDS)

    delivery = Delivery.objects.get()
    assert (delivery.subscription, delivery.lead, delivery.action, delivery.state) == (
        subscription,
        lead,
        "created",
        DeliveryState.PENDING,
    )
    assert delivery.event == LeadEvent.objects.get()


def test_create_makes_one_delivery_per_active_subscription_of_the_site(site, subscription):
    second = SubscriptionFactory.create(
        site=site, application=ApplicationFactory.create(), url="https://b.test/hook", secret="b"
    )
    SubscriptionFactory.create(
        site=site,
        application=ApplicationFactory.create(),
        url="https://c.test/",
        secret="c",
        active=False,
    )
    SubscriptionFactory.create(
        site=SiteFactory.create(owner=site.owner),
        application=ApplicationFactory.create(),
        url="https://d.test/",
        secret="d",
    )

    services.lead_create(site=site, fields=FIELDS)

    assert set(Delivery.objects.values_list("subscription", flat=True)) == {
        subscription.pk,
        second.pk,
    }


def test_create_queues_one_job_per_delivery_locked_by_subscription_and_lead(site, subscription):
    lead = services.lead_create(site=site, fields=FIELDS)

    delivery = Delivery.objects.get()
    job = jobs().get()
    assert job.args == {"delivery_id": str(delivery.pk)}
    assert job.lock == f"delivery:{subscription.pk}:{lead.pk}"
    assert job.status == "todo"
    assert job.queueing_lock is None


def test_create_without_subscriptions_records_the_event_only(site):
    services.lead_create(site=site, fields=FIELDS)

    assert actions() == ["created"]
    assert not Delivery.objects.exists()
    assert not jobs().exists()


def test_create_with_existing_id_is_409_and_records_nothing(site, subscription, lead):
    with pytest.raises(Conflict) as raised:
        services.lead_create(site=site, fields={"source": "Other"}, lead_id=lead.id)

    assert raised.value.message == f"A lead with the id {lead.id.hex} already exists"
    assert not LeadEvent.objects.exists()


def test_backlog_limit_fails_the_delivery_instead_of_queueing(site, subscription, knobs):
    knobs.DELIVERY_MAX_PENDING_PER_SUBSCRIPTION = 1
    services.lead_create(site=site, fields=FIELDS)

    second = services.lead_create(site=site, fields=FIELDS)

    delivery = Delivery.objects.get(lead=second)
    assert delivery.state == DeliveryState.FAILED
    assert "DELIVERY_MAX_PENDING_PER_SUBSCRIPTION" in delivery.last_error
    assert delivery.finished is not None
    assert jobs().count() == 1


# --- updated ----------------------------------------------------------------------------


def test_changing_a_contact_field_records_an_updated_event(site, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"phone": "808-555-0100"})

    assert actions() == ["updated"]
    body = json.loads(bytes(LeadEvent.objects.get().body))
    assert (body["action"], body["phone"]) == ("updated", "808-555-0100")


def test_update_makes_a_delivery_and_a_job(site, subscription, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})

    delivery = Delivery.objects.get()
    assert (delivery.action, delivery.subscription) == ("updated", subscription)
    assert jobs().get().args == {"delivery_id": str(delivery.pk)}


def test_update_saves_only_the_given_fields(site, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})

    lead.refresh_from_db()
    assert (lead.city, lead.first_name, lead.email) == ("Hilo", "Ada", "ada@example.com")


def test_update_to_the_same_values_records_no_event(site, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"first_name": "Ada", "role": "Buyer"})

    assert not LeadEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert not jobs().exists()


def test_update_without_changes_records_no_event(site, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={})

    assert not LeadEvent.objects.exists()


def test_update_with_activities_only_adds_them_without_event(site, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={}, activities=[NOTE])

    assert list(lead.activities.values_list("type", flat=True)) == ["note"]
    assert not LeadEvent.objects.exists()


def test_update_with_a_change_and_activities_sends_both_in_one_event(site, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"}, activities=[NOTE])

    body = json.loads(bytes(LeadEvent.objects.get().body))
    assert body["city"] == "Hilo"
    assert [activity["description"] for activity in body["activities"]] == ["Called back"]


def test_update_of_unknown_lead_is_404(site):
    with pytest.raises(NotFound) as raised:
        services.lead_update(site=site, lead_id=uuid.uuid4(), changes={"city": "Hilo"})

    assert raised.value.message == "Lead not found"


def test_update_of_another_sites_lead_is_404(site, lead):
    other_site = SiteFactory.create(owner=site.owner)

    with pytest.raises(NotFound):
        services.lead_update(site=other_site, lead_id=lead.id, changes={"city": "Hilo"})


# --- activities -------------------------------------------------------------------------


def test_activities_alone_make_no_event(site, lead):
    services.activities_add(site=site, lead_id=lead.id, activities=[NOTE, NOTE])

    assert lead.activities.count() == 2
    assert not LeadEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert not jobs().exists()


def test_activities_for_unknown_lead_is_404(site):
    with pytest.raises(NotFound) as raised:
        services.activities_add(site=site, lead_id=uuid.uuid4(), activities=[NOTE])

    assert raised.value.message == "Lead not found"


# --- rollback ---------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_rollback_after_create_leaves_no_rows_and_no_job(site, subscription):
    with pytest.raises(Boom), transaction.atomic():
        services.lead_create(site=site, fields=FIELDS, activities=[NOTE])
        raise Boom

    assert not Lead.objects.exists()
    assert not Activity.objects.exists()
    assert not LeadEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert not ProcrastinateJob.objects.exists()


def test_rollback_after_update_leaves_the_lead_unchanged_and_no_event(site, subscription, lead):
    with pytest.raises(Boom), transaction.atomic():
        services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})
        raise Boom

    lead.refresh_from_db()
    assert lead.city == ""
    assert not LeadEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert not jobs().exists()


# --- redelivery and cancellation ------------------------------------------------------------


def test_redeliver_resets_a_failed_delivery_and_queues_a_job(site, subscription, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.FAILED, finished=delivery.created
    )
    before = jobs().count()

    count = services.deliveries_redeliver(delivery_ids=[delivery.pk])

    delivery.refresh_from_db()
    assert count == 1
    assert (delivery.state, delivery.finished) == (DeliveryState.PENDING, None)
    assert jobs().count() == before + 1


def test_redeliver_leaves_a_pending_delivery_alone(site, subscription, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})

    count = services.deliveries_redeliver(delivery_ids=[Delivery.objects.get().pk])

    assert count == 0
    assert jobs().count() == 1


def test_cancel_pending_cancels_only_pending_deliveries(site, subscription, lead):
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Kona"})
    delivered = Delivery.objects.order_by("created").first()
    assert delivered is not None
    Delivery.objects.filter(pk=delivered.pk).update(state=DeliveryState.DELIVERED)

    count = services.deliveries_cancel_pending(subscription_id=subscription.pk, reason="deleted")

    assert count == 1
    assert sorted(Delivery.objects.values_list("state", flat=True)) == [
        DeliveryState.CANCELLED,
        DeliveryState.DELIVERED,
    ]


# --- retention --------------------------------------------------------------------------


def _finished_delivery(lead: Lead, subscription: Subscription, state: str, days_ago: int):
    event = LeadEvent.objects.create(lead=lead, action="updated", body=b"{}")
    finished = timezone.now() - timedelta(days=days_ago)
    LeadEvent.objects.filter(pk=event.pk).update(created=finished)
    return Delivery.objects.create(
        event=event,
        subscription=subscription,
        lead=lead,
        action="updated",
        state=state,
        finished=finished,
    )


def test_prune_deletes_old_delivered_and_ignored_deliveries_and_their_events(lead, subscription):
    delivered = _finished_delivery(lead, subscription, DeliveryState.DELIVERED, days_ago=40)
    ignored = _finished_delivery(lead, subscription, DeliveryState.IGNORED, days_ago=40)

    count = services.deliveries_prune(older_than=timedelta(days=30))

    assert count == 2
    assert not Delivery.objects.filter(pk__in=[delivered.pk, ignored.pk]).exists()
    assert not LeadEvent.objects.filter(pk__in=[delivered.event_id, ignored.event_id]).exists()


def test_prune_keeps_recent_deliveries_and_failed_ones(lead, subscription):
    recent = _finished_delivery(lead, subscription, DeliveryState.DELIVERED, days_ago=2)
    failed = _finished_delivery(lead, subscription, DeliveryState.FAILED, days_ago=40)

    count = services.deliveries_prune(older_than=timedelta(days=30))

    assert count == 0
    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, failed.pk}


# --- activity caps under concurrency --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_additions_never_take_a_lead_past_its_most_activities(site, knobs):
    """Each thread has its own database connection, so the additions really race."""
    knobs.LEAD_MAX_ACTIVITIES = 5
    lead = Lead.objects.create(site=site, **FIELDS)
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def add_one() -> None:
        start.wait()
        try:
            services.activities_add(site=site, lead_id=lead.pk, activities=[NOTE])
            outcomes.append("added")
        except InvalidFields:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add_one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["added"] * 5 + ["refused"] * 5
    assert Activity.objects.filter(lead=lead).count() == 5
