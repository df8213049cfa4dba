"""Webhook delivery end to end: real PostgreSQL, a real `manage.py procrastinate worker`
process, and a real HTTP receiver on 127.0.0.1. Nothing is mocked.

The worker runs with DELIVERY_RETRY_SCHEDULE=1,1,1 (seconds) and a 0.2 s poll. Every
wait is a polling loop with a generous timeout: other test runs share the machine.
"""

import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import transaction

from leads.conf import app_settings
from leads.models import Delivery, DeliveryState, Lead, LeadEvent
from leads.services import deliveries_redeliver, lead_create, lead_update
from subscriptions.models import Subscription
from subscriptions.services import subscription_delete, subscription_put
from tests.factories import ApplicationFactory
from tests.leads.worker import (
    FAST_RECOVERY,
    Received,
    Reply,
    Workers,
    corrupt_secret,
    wait_until,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_password_hashing"),
]

SECRET = "partner-signing-secret"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
FINAL = (
    DeliveryState.DELIVERED,
    DeliveryState.IGNORED,
    DeliveryState.FAILED,
    DeliveryState.CANCELLED,
)


# ---------------------------------------------------------------------------
# helpers


def subscribe(site, application, url: str, secret: str = SECRET) -> Subscription:
    subscription_put(site=site, application=application, url=url, secret=secret)
    return Subscription.objects.get(site=site, application=application)


def create_lead(site, **fields) -> Lead:
    return lead_create(site=site, fields={"source": "Website", **fields})


def independent_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def document(request: Received) -> dict:
    return json.loads(request.body)


def delivery_for(lead: Lead, subscription: Subscription, action: str = "created") -> Delivery:
    return Delivery.objects.get(lead=lead, subscription=subscription, action=action)


def wait_final(delivery: Delivery, *, timeout: float = 30) -> Delivery:
    """The delivery row once it reaches a final state."""

    def final() -> Delivery | None:
        delivery.refresh_from_db()
        return delivery if delivery.state in FINAL else None

    return wait_until(final, timeout=timeout, message=f"delivery {delivery.id} to finish")


def jobs_of(workers: Workers, subscription: Subscription) -> list[tuple[str, str]]:
    """(status, lock) of every delivery job for the subscription."""
    with psycopg.connect(workers.conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT status, lock FROM procrastinate_jobs WHERE lock LIKE %s ORDER BY id",
            [f"delivery:{subscription.pk}:%"],
        ).fetchall()
    return [(str(status), str(lock)) for status, lock in rows]


def wait_jobs_done(workers: Workers, subscription: Subscription, *, timeout: float = 30) -> None:
    wait_until(
        lambda: all(
            status not in ("todo", "doing") for status, _ in jobs_of(workers, subscription)
        ),
        timeout=timeout,
        message="the subscription's jobs to finish",
    )


@pytest.fixture
def subscription(worker, receiver, site, application) -> Subscription:
    return subscribe(site, application, receiver.url("/hook"))


# ---------------------------------------------------------------------------
# the request


def test_a_created_lead_is_posted_with_every_header_and_an_independently_verified_signature(
    subscription, receiver, site
):
    lead = create_lead(site, first_name="Jack", last_name="Harper", email="jack@mail.com")

    [request] = receiver.wait_for(1, "/hook")
    delivery = wait_final(delivery_for(lead, subscription))
    event = LeadEvent.objects.get(lead=lead)

    assert request.method == "POST"
    assert request.body == bytes(event.body)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-lead-router-action"] == "created"
    signature = request.headers["x-lead-router-signature"]
    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    assert hmac.compare_digest(signature, independent_signature(request.body))
    timestamp = request.headers["x-lead-router-timestamp"]
    assert RFC3339_UTC.match(timestamp), timestamp
    sent_at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    assert request.headers["x-lead-router-message-id"] == delivery.id.hex
    assert re.fullmatch(r"[0-9a-f]{32}", request.headers["x-lead-router-message-id"])
    assert "RealGeeks" in request.headers["user-agent"]
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        DeliveryState.DELIVERED,
        1,
        200,
    )
    assert delivery.finished is not None


def test_the_secret_is_read_at_send_time(subscription, receiver, site, application):
    """An update waiting behind an in-flight request is signed with a secret PUT meanwhile."""
    hold = receiver.hold()
    receiver.script("/hook", Reply(hold=hold))
    lead = create_lead(site, first_name="Jack")
    receiver.wait_for(1, "/hook")
    lead_update(site=site, lead_id=lead.id, changes={"first_name": "Jacques"})
    subscribe(site, application, receiver.url("/hook"), secret="rotated-secret")
    hold.set()

    wait_final(delivery_for(lead, subscription, "updated"))
    created, updated = receiver.requests("/hook")
    assert created.headers["x-lead-router-signature"] == independent_signature(created.body)
    assert updated.headers["x-lead-router-signature"] == independent_signature(
        updated.body, "rotated-secret"
    )


def test_create_then_update_send_created_then_updated_with_the_lead_document(
    subscription, receiver, site
):
    lead = create_lead(site, first_name="Jack", email="jack@mail.com", role="Buyer")
    lead_update(site=site, lead_id=lead.id, changes={"first_name": "Jacques", "city": "Hilo"})

    created, updated = receiver.wait_for(2, "/hook")
    assert [r.headers["x-lead-router-action"] for r in (created, updated)] == [
        "created",
        "updated",
    ]
    for request, action, first_name in (
        (created, "created", "Jack"),
        (updated, "updated", "Jacques"),
    ):
        body = document(request)
        assert body["action"] == action
        assert body["id"] == lead.id.hex
        assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
        assert body["site_uuid"] == str(site.uuid)
        assert body["site_domain"] == site.domain
        assert RFC3339_UTC.match(body["created"])
        assert body["first_name"] == first_name
        assert body["email"] == "jack@mail.com"
        assert body["role"] == "Buyer"
        assert body["source"] == "Website"
        assert body["activities"] == []
        assert request.headers["x-lead-router-signature"] == independent_signature(request.body)
    assert document(created)["city"] == ""
    assert document(updated)["city"] == "Hilo"
    assert (
        created.headers["x-lead-router-message-id"] != updated.headers["x-lead-router-message-id"]
    )


def test_an_update_that_changes_nothing_sends_nothing(subscription, receiver, site, workers):
    lead = create_lead(site, first_name="Jack")
    lead_update(site=site, lead_id=lead.id, changes={"first_name": "Jack"})
    marker = create_lead(site, first_name="Marker")

    wait_final(delivery_for(marker, subscription))
    wait_jobs_done(workers, subscription)
    assert sorted(document(r)["first_name"] for r in receiver.requests("/hook")) == [
        "Jack",
        "Marker",
    ]
    assert Delivery.objects.filter(lead=lead).count() == 1


# ---------------------------------------------------------------------------
# transactions


def test_a_rolled_back_creation_sends_nothing(subscription, receiver, site, workers):
    with pytest.raises(RuntimeError), transaction.atomic():
        create_lead(site, first_name="Ghost")
        raise RuntimeError("rolled back")
    assert not Lead.objects.exists()
    assert not Delivery.objects.exists()
    assert jobs_of(workers, subscription) == []

    # A committed lead afterwards is delivered: the worker is live, and had the ghost
    # been queued it would have gone first or alongside. Then give it a moment more.
    marker = create_lead(site, first_name="Marker")
    wait_final(delivery_for(marker, subscription))
    wait_jobs_done(workers, subscription)
    time.sleep(1.0)
    assert [document(r)["first_name"] for r in receiver.requests()] == ["Marker"]


# ---------------------------------------------------------------------------
# outcomes


def test_503_then_200_is_delivered_by_a_retry_with_the_same_message_id_and_body(
    subscription, receiver, site
):
    receiver.script("/hook", Reply(503))
    lead = create_lead(site, first_name="Jack")

    failed, succeeded = receiver.wait_for(2, "/hook")
    delivery = wait_final(delivery_for(lead, subscription))

    assert (failed.status, succeeded.status) == (503, 200)
    assert failed.body == succeeded.body
    message_ids = {r.headers["x-lead-router-message-id"] for r in (failed, succeeded)}
    assert message_ids == {delivery.id.hex}
    for request in (failed, succeeded):
        assert request.headers["x-lead-router-signature"] == independent_signature(request.body)
        assert RFC3339_UTC.match(request.headers["x-lead-router-timestamp"])
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        DeliveryState.DELIVERED,
        2,
        200,
    )


def test_406_is_ignored_and_not_retried(subscription, receiver, site, workers):
    receiver.script("/hook", Reply(406))
    lead = create_lead(site)

    delivery = wait_final(delivery_for(lead, subscription))
    wait_jobs_done(workers, subscription)

    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        DeliveryState.IGNORED,
        1,
        406,
    )
    assert len(receiver.requests("/hook")) == 1


def test_400_fails_without_a_retry(subscription, receiver, site, workers):
    receiver.script("/hook", Reply(400, body=b'{"error": "bad lead"}'))
    lead = create_lead(site)

    delivery = wait_final(delivery_for(lead, subscription))
    wait_jobs_done(workers, subscription)

    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        DeliveryState.FAILED,
        1,
        400,
    )
    assert "400" in delivery.last_error
    assert "bad lead" in delivery.response_snippet
    assert len(receiver.requests("/hook")) == 1


def test_retries_exhausted_fail_with_the_reason(subscription, receiver, site, workers):
    receiver.respond_with("/hook", lambda request: Reply(503))
    lead = create_lead(site)

    delivery = wait_final(delivery_for(lead, subscription))
    wait_jobs_done(workers, subscription)

    # The schedule has three retries: four attempts in all.
    assert len(receiver.requests("/hook")) == 4
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        DeliveryState.FAILED,
        4,
        503,
    )
    assert "HTTP 503" in delivery.last_error
    assert "retries exhausted" in delivery.last_error


def test_an_unexpected_error_is_retried_then_fails_with_the_reason_and_the_job_ends(
    subscription, receiver, site, workers
):
    """Issue 9: such an error failed the job and left the delivery pending for ever."""
    corrupt_secret(Subscription.objects.filter(pk=subscription.pk))
    lead = create_lead(site)

    delivery = wait_final(delivery_for(lead, subscription))
    wait_jobs_done(workers, subscription)

    # The schedule has three retries: four attempts in all, none of them sent.
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 4)
    assert delivery.last_error.startswith("Unexpected error: UnicodeDecodeError: ")
    assert delivery.last_error.endswith("; retries exhausted")
    assert receiver.requests("/hook") == []
    assert {status for status, _ in jobs_of(workers, subscription)} == {"succeeded"}


def test_retry_after_is_honoured(subscription, receiver, site):
    """The schedule says about 1 s; the partner's Retry-After: 2 wins."""
    receiver.script("/hook", Reply(429, headers={"Retry-After": "2"}))
    lead = create_lead(site)

    throttled, retried = receiver.wait_for(2, "/hook")
    delivery = wait_final(delivery_for(lead, subscription))

    assert throttled.status == 429
    assert retried.at - throttled.at >= 1.95
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)


def test_redirects_are_not_followed(subscription, receiver, site, workers):
    receiver.script("/hook", Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    lead = create_lead(site)

    delivery = wait_final(delivery_for(lead, subscription))
    wait_jobs_done(workers, subscription)

    assert (delivery.state, delivery.last_status_code) == (DeliveryState.FAILED, 302)
    assert receiver.requests("/elsewhere") == []
    assert len(receiver.requests("/hook")) == 1


def test_410_deactivates_the_subscription_and_later_events_are_not_sent(
    subscription, receiver, site, workers
):
    other = subscribe(site, ApplicationFactory.create(), receiver.url("/other"))
    receiver.script("/hook", Reply(410))
    lead = create_lead(site, first_name="Jack")

    delivery = wait_final(delivery_for(lead, subscription))
    subscription.refresh_from_db()
    assert subscription.active is False
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.FAILED, 410)
    assert "410" in delivery.last_error

    lead_update(site=site, lead_id=lead.id, changes={"first_name": "Jacques"})
    # The other partner gets the update: by then the deactivated one would have too.
    wait_final(delivery_for(lead, other, "updated"))
    wait_jobs_done(workers, subscription)
    assert [r.headers["x-lead-router-action"] for r in receiver.requests("/other")] == [
        "created",
        "updated",
    ]
    assert len(receiver.requests("/hook")) == 1
    assert not Delivery.objects.filter(subscription=subscription, action="updated").exists()


# ---------------------------------------------------------------------------
# deleting a subscription


def test_deleting_the_subscription_cancels_what_is_pending(
    subscription, receiver, site, application, workers
):
    """The partner is slow: one request in flight, three more waiting behind its lock."""
    hold = receiver.hold()
    receiver.script("/hook", Reply(hold=hold))
    lead = create_lead(site, first_name="v0")
    receiver.wait_for(1, "/hook")
    for version in range(1, 4):
        lead_update(site=site, lead_id=lead.id, changes={"first_name": f"v{version}"})

    subscription_delete(site=site, application=application)
    hold.set()
    wait_jobs_done(workers, subscription)

    deliveries = list(Delivery.objects.filter(lead=lead).order_by("created"))
    assert len(deliveries) == 4
    assert [d.state for d in deliveries[1:]] == [DeliveryState.CANCELLED] * 3
    assert all(d.subscription_id is None for d in deliveries)
    assert all("deleted" in d.last_error for d in deliveries[1:])
    # The one in flight when the subscription went is recorded as what it was: delivered
    # (its answer came) or cancelled; never sent again.
    assert deliveries[0].state in (DeliveryState.DELIVERED, DeliveryState.CANCELLED)
    assert [document(r)["first_name"] for r in receiver.requests("/hook")] == ["v0"]
    assert {status for status, _ in jobs_of(workers, subscription)} == {"succeeded"}


def test_deleting_the_subscription_cancels_a_delivery_waiting_to_be_retried(
    subscription, receiver, site, application, workers
):
    """The partner is down: a 503, and the retry is a second away when it is deleted."""
    receiver.respond_with("/hook", lambda request: Reply(503))
    lead = create_lead(site)
    receiver.wait_for(1, "/hook")
    delivery = delivery_for(lead, subscription)

    subscription_delete(site=site, application=application)
    wait_jobs_done(workers, subscription)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.CANCELLED
    assert delivery.subscription_id is None
    # At most the one attempt that may have been in flight during the delete.
    assert len(receiver.requests("/hook")) <= 2
    assert {status for status, _ in jobs_of(workers, subscription)} == {"succeeded"}


# ---------------------------------------------------------------------------
# order, isolation, crash safety

LEADS = 20
UPDATES = 10


def flaky_every_7th() -> tuple[list[str], object]:
    """A responder answering 503 to every 7th request, never twice to one message."""
    failed: list[str] = []
    counter = iter(range(1, 1_000_000))

    def respond(request: Received) -> Reply:
        message_id = request.headers["x-lead-router-message-id"]
        if next(counter) % 7 == 0 and message_id not in failed:
            failed.append(message_id)
            return Reply(503)
        return Reply(200)

    return failed, respond


def test_rapid_updates_over_twenty_leads_arrive_in_commit_order_per_lead(
    subscription, receiver, site
):
    failed, respond = flaky_every_7th()
    receiver.respond_with("/hook", respond)

    leads = [create_lead(site, first_name="v0", last_name=f"lead{n}") for n in range(LEADS)]
    for version in range(1, UPDATES + 1):  # round robin: commits of many leads interleave
        for lead in leads:
            lead_update(site=site, lead_id=lead.id, changes={"first_name": f"v{version}"})

    total = LEADS * (UPDATES + 1)
    wait_until(
        lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == total,
        timeout=120,
        interval=0.25,
        message=f"{total} deliveries",
    )
    assert len(failed) >= total // 8  # the receiver really was flaky

    expected = [f"v{version}" for version in range(UPDATES + 1)]
    arrivals: dict[str, list[int]] = {lead.id.hex: [] for lead in leads}
    accepted: dict[str, list[str]] = {lead.id.hex: [] for lead in leads}
    for request in receiver.requests("/hook"):
        body = document(request)
        arrivals[body["id"]].append(int(body["first_name"][1:]))
        if request.status == 200:
            accepted[body["id"]].append(body["first_name"])
    for lead_id in arrivals:
        assert accepted[lead_id] == expected, lead_id
        # Every request, the refused ones included: a later version never overtakes.
        assert arrivals[lead_id] == sorted(arrivals[lead_id]), lead_id
    assert {d.attempts for d in Delivery.objects.all()} <= {1, 2}


def test_one_failing_partner_never_delays_another(worker, receiver, site):
    """Partner A hangs on every request, for more leads than the worker has slots;
    partner B, subscribed to the same site, still gets every event promptly."""
    hang = receiver.hold()
    receiver.respond_with("/a", lambda request: Reply(hold=hang))
    slow = subscribe(site, ApplicationFactory.create(), receiver.url("/a"))
    healthy = subscribe(site, ApplicationFactory.create(), receiver.url("/b"))

    leads = [create_lead(site, first_name=f"lead{n}") for n in range(12)]
    receiver.wait_for(1, "/a")
    started = time.monotonic()
    for lead in leads:
        lead_update(site=site, lead_id=lead.id, changes={"first_name": f"{lead.first_name}+"})

    receiver.wait_for(24, "/b", timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < 8, f"partner B waited {elapsed:.1f}s behind partner A"
    wait_until(
        lambda: (
            Delivery.objects.filter(subscription=healthy, state=DeliveryState.DELIVERED).count()
            == 24
        ),
        message="partner B's deliveries to be recorded",
    )
    assert not Delivery.objects.filter(subscription=slow, state=DeliveryState.DELIVERED).exists()
    # A hanging partner holds at most its share of the worker's slots.
    assert 1 <= len(receiver.requests("/a")) <= app_settings.DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION
    hang.set()


def test_a_delivery_in_flight_when_its_worker_is_killed_is_delivered_after_recovery(
    receiver, site, application, own_workers
):
    """SIGKILL mid-request: the job stays `doing` under a dead worker; the recovery task
    of another worker requeues it once the heartbeat is stale, and it is delivered."""
    doomed = own_workers.start(**FAST_RECOVERY)
    subscription = subscribe(site, application, receiver.url("/hook"))
    hold = receiver.hold()
    receiver.script("/hook", Reply(hold=hold))
    lead = create_lead(site, first_name="Jack")
    lead_update(site=site, lead_id=lead.id, changes={"first_name": "Jacques"})

    [in_flight] = receiver.wait_for(1, "/hook")
    doomed.kill()
    killed_at = time.monotonic()
    hold.set()
    created = delivery_for(lead, subscription)
    created.refresh_from_db()
    assert created.state == DeliveryState.PENDING
    assert ("doing", f"delivery:{subscription.pk}:{lead.pk}") in jobs_of(own_workers, subscription)

    own_workers.start(**FAST_RECOVERY)
    created = wait_final(created, timeout=120)
    updated = wait_final(delivery_for(lead, subscription, "updated"), timeout=30)
    recovered_in = time.monotonic() - killed_at

    assert (created.state, updated.state) == (DeliveryState.DELIVERED, DeliveryState.DELIVERED)
    requests = receiver.requests("/hook")
    assert [r.headers["x-lead-router-action"] for r in requests] == [
        "created",
        "created",
        "updated",
    ]
    assert requests[1].body == in_flight.body
    assert requests[1].headers["x-lead-router-message-id"] == created.id.hex
    assert in_flight.headers["x-lead-router-message-id"] == created.id.hex
    assert recovered_in < 120


def test_a_delivery_cut_by_a_graceful_stop_is_sent_again_not_lost(
    receiver, site, application, own_workers
):
    """SIGTERM while a partner is slow to answer: past WORKER_SHUTDOWN_TIMEOUT the worker
    aborts the request, and the job goes back to the queue for the next worker."""
    stopping = own_workers.start(WORKER_SHUTDOWN_TIMEOUT="1")
    subscription = subscribe(site, application, receiver.url("/hook"))
    hold = receiver.hold()
    receiver.script("/hook", Reply(hold=hold), Reply(200))
    lead = create_lead(site, first_name="Jack")
    [cut] = receiver.wait_for(1, "/hook")

    stopping.stop()
    hold.set()
    assert not stopping.alive()
    own_workers.start()
    delivery = wait_final(delivery_for(lead, subscription))

    assert delivery.state == DeliveryState.DELIVERED
    cut_again, delivered = receiver.requests("/hook")
    assert cut_again is cut
    assert delivered.body == cut.body
    assert delivered.headers["x-lead-router-message-id"] == delivery.id.hex


def test_a_redelivered_failure_gets_the_whole_retry_schedule_again(
    subscription, receiver, site, workers
):
    """Retries exhausted; the partner comes back flaky; an admin redelivers: one more
    503 is retried, not the end of it."""
    receiver.script("/hook", *[Reply(503)] * 4)
    lead = create_lead(site)
    delivery = wait_final(delivery_for(lead, subscription))
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 4)
    wait_jobs_done(workers, subscription)

    receiver.script("/hook", Reply(503))
    assert deliveries_redeliver(delivery_ids=[delivery.pk]) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING

    delivery = wait_final(delivery)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        DeliveryState.DELIVERED,
        2,
        200,
    )
    requests = receiver.requests("/hook")
    assert [r.status for r in requests] == [503, 503, 503, 503, 503, 200]
    assert {r.headers["x-lead-router-message-id"] for r in requests} == {delivery.id.hex}
    assert {r.body for r in requests} == {requests[0].body}
