"""Nothing is lost when a worker dies or a job ends without its delivery: real worker
processes (SIGKILL), real PostgreSQL, and a real receiver on 127.0.0.1 that holds its
answers so that requests stay in flight."""

import json
import time

import psycopg
import pytest

from leads.models import Delivery, DeliveryState
from leads.selectors import orphaned_deliveries
from leads.services import lead_create, lead_update
from subscriptions.models import Subscription
from subscriptions.services import subscription_put
from tests.leads.worker import FAST_RECOVERY, Reply, Workers, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_password_hashing"),
]

LEADS = 60
VERSIONS = 3  # the creation and two updates
# Enough slots for every creation to be in flight at once.
WIDE_OPEN = {"WORKER_CONCURRENCY": "100", "DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION": "100"}


def subscribe(site, application, url: str) -> Subscription:
    subscription_put(site=site, application=application, url=url, secret="s3cret")
    return Subscription.objects.get(site=site, application=application)


def job_statuses(workers: Workers) -> dict[str, int]:
    with psycopg.connect(workers.conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM procrastinate_jobs "
            "WHERE task_name = 'leads.tasks.deliver' GROUP BY status"
        ).fetchall()
    return {str(status): int(count) for status, count in rows}


def test_a_worker_killed_with_many_deliveries_in_flight_loses_none_and_keeps_lead_order(
    receiver, site, application, own_workers
):
    doomed = own_workers.start(**FAST_RECOVERY, **WIDE_OPEN)
    subscribe(site, application, receiver.url("/hook"))
    hold = receiver.hold()
    # Held until the worker is dead; answered at once after.
    receiver.respond_with("/hook", lambda request: Reply() if hold.is_set() else Reply(hold=hold))
    leads = [
        lead_create(site=site, fields={"source": "Website", "first_name": "v0"})
        for _ in range(LEADS)
    ]
    for version in range(1, VERSIONS):
        for lead in leads:
            lead_update(site=site, lead_id=lead.id, changes={"first_name": f"v{version}"})

    in_flight = receiver.wait_for(50, "/hook", timeout=60)
    doomed.kill()
    hold.set()
    assert job_statuses(own_workers).get("doing", 0) >= 50

    started = time.monotonic()
    own_workers.start(**FAST_RECOVERY, **WIDE_OPEN)
    total = LEADS * VERSIONS
    wait_until(
        lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == total,
        timeout=50,
        interval=0.25,
        message=f"{total} deliveries",
    )
    assert time.monotonic() - started < 50

    arrivals: dict[str, list[int]] = {lead.id.hex: [] for lead in leads}
    for request in receiver.requests("/hook"):
        body = json.loads(request.body)
        arrivals[body["id"]].append(int(body["first_name"][1:]))
    for lead_id, versions in arrivals.items():
        # Every event at least once (the ones cut by the kill twice), never out of order.
        assert sorted(set(versions)) == list(range(VERSIONS)), lead_id
        assert versions == sorted(versions), lead_id
    assert len(in_flight) >= 50
    assert not Delivery.objects.filter(state=DeliveryState.PENDING).exists()
    assert not orphaned_deliveries().exists()
    assert set(job_statuses(own_workers)) == {"succeeded"}


def test_a_pending_delivery_whose_job_failed_is_delivered_by_the_recovery(
    receiver, site, application, own_workers
):
    """As issue 9 found them: the job failed on an error nothing caught, the delivery
    stayed pending. The periodic recovery of a running worker queues it again."""
    subscribe(site, application, receiver.url("/hook"))
    lead = lead_create(site=site, fields={"source": "Website", "first_name": "Jack"})
    delivery = Delivery.objects.get(lead=lead)
    with psycopg.connect(own_workers.conninfo, autocommit=True) as conn:
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE args->>'delivery_id' = %s",
            [str(delivery.pk)],
        )

    own_workers.start(**FAST_RECOVERY)

    [request] = receiver.wait_for(1, "/hook")
    assert request.headers["x-lead-router-message-id"] == delivery.id.hex
    wait_until(
        lambda: Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.DELIVERED).exists(),
        message="the delivery to be recorded",
    )
