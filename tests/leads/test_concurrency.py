"""Leads POSTed by many threads at once to the Incoming Leads API on a live server (each
request its own connection and transaction): one new lead id, and new leads past a
subscription's backlog cap."""

import uuid

import httpx
import pytest
from django.db import connection

from leads.delivery.job import deliver
from leads.models import Action, Delivery, DeliveryBacklog, DeliveryState, Lead, LeadEvent
from oauth_provider.models import Connection
from subscriptions.models import Subscription
from tests.concurrency import AT_ONCE, rounds, send_at_once
from tests.factories import ApplicationFactory, SubscriptionFactory
from tests.leads.samples import LEAD
from tests.oauth_provider.flow import basic_auth

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def leads_url(live_server, site, application) -> str:
    """The site's leads, connected to `application` (HTTP Basic), with two subscriptions:
    this application's and another's."""
    Connection.objects.create(site=site, application=application, connected_by=site.owner)
    for owner in (application, ApplicationFactory.create()):
        SubscriptionFactory.create(
            site=site, application=owner, url=f"https://{owner.client_id}.test/", secret="s"
        )
    return f"{live_server.url}/rest/sites/{site.uuid}/leads"


def queued_delivery_ids() -> list[str]:
    """The delivery id of every job in the queue, once per job."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args->>'delivery_id' FROM procrastinate_jobs WHERE task_name = %s",
            [deliver.name],
        )
        return [delivery_id for (delivery_id,) in cursor.fetchall()]


def test_one_lead_id_posted_at_once_is_created_once_with_one_event_and_its_deliveries(
    leads_url, application
):
    for _ in rounds():
        lead_id = uuid.uuid4()
        requests = [
            httpx.Request(
                "POST",
                leads_url,
                json={**LEAD, "id": lead_id.hex},
                headers={"Authorization": basic_auth(application.client_id)},
            )
            for _ in range(AT_ONCE)
        ]

        answers = send_at_once(requests)

        assert sorted((answer.status_code, answer.json()) for answer in answers) == [
            (201, {}),
            *[(409, {"error": f"A lead with the id {lead_id.hex} already exists"})] * (AT_ONCE - 1),
        ]
        assert Lead.objects.filter(pk=lead_id).count() == 1
        [event] = LeadEvent.objects.filter(lead_id=lead_id)
        assert event.action == Action.CREATED
        deliveries = Delivery.objects.filter(event=event).order_by("subscription")
        assert list(deliveries.values_list("subscription", "state")) == [
            (pk, DeliveryState.PENDING)
            for pk in Subscription.objects.order_by("pk").values_list("pk", flat=True)
        ]
        queued = queued_delivery_ids()
        assert [queued.count(str(delivery.pk)) for delivery in deliveries] == [1, 1]


def test_leads_created_at_once_never_take_a_backlog_past_its_cap(leads_url, application, knobs):
    cap = AT_ONCE // 2
    knobs.DELIVERY_MAX_PENDING_PER_SUBSCRIPTION = cap
    requests = [
        httpx.Request(
            "POST",
            leads_url,
            json={**LEAD, "id": uuid.uuid4().hex},
            headers={"Authorization": basic_auth(application.client_id)},
        )
        for _ in range(AT_ONCE)
    ]

    answers = send_at_once(requests)

    assert [answer.status_code for answer in answers] == [201] * AT_ONCE
    for subscription in Subscription.objects.all():
        states = Delivery.objects.filter(subscription=subscription).values_list("state", flat=True)
        assert (
            sorted(states)
            == [DeliveryState.FAILED] * (AT_ONCE - cap) + [DeliveryState.PENDING] * cap
        )
        assert DeliveryBacklog.objects.get(subscription=subscription).pending == cap
    queued = queued_delivery_ids()
    pending = Delivery.objects.filter(state=DeliveryState.PENDING).values_list("pk", flat=True)
    assert [queued.count(str(pk)) for pk in pending] == [1] * (2 * cap)
