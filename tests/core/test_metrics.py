"""`/metrics`: scraped through Django's test client and parsed as Prometheus does, after
real actions (token endpoint, deliveries to a real receiver, pending rows). These run in
single-process mode; tests/leads/test_metrics_worker.py scrapes a real gunicorn in
multiprocess mode after a real worker delivered.

Counters live for the whole test process, so tests compare a value before and after.
"""

import contextlib
import subprocess
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import AsyncConnectionPool

from leads.delivery import PartnerBusy, RetryDelivery, deliver_once, partner_slot
from leads.models import Delivery, DeliveryState
from leads.services import lead_create
from subscriptions.services import subscription_delete, subscription_put
from tests.leads.worker import Receiver, Reply, deliver_now, with_worker_pool
from tests.oauth_provider.flow import exchange_code, obtain_tokens, refresh
from tests.test_deploy_check import manage, production_env

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

METRICS = "/metrics"
TOKEN = "metrics-scrape-token-" + "t" * 32
REQUESTS = "realgeeks_http_request_duration_seconds_count"
TOKENS = "realgeeks_oauth_tokens_issued_total"
DELIVERIES = "realgeeks_deliveries_total"
DELIVERY_LATENCY = "realgeeks_delivery_latency_seconds_count"
QUEUE_DEPTH = "realgeeks_delivery_queue_depth"
OLDEST_AGE = "realgeeks_delivery_oldest_pending_age_seconds"


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape_text() -> str:
    response = Client().get(METRICS)
    assert response.status_code == 200, response.content
    return response.content.decode()


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape() -> Samples:
    return parse(scrape_text())


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a label set not seen yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def latency_observations(samples: Samples) -> float:
    return sum(value(samples, DELIVERY_LATENCY, outcome=o) for o in ("delivered", "failed"))


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Runs the on-commit callbacks (where counters are incremented) of the block it
    wraps: the test's transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def pending_delivery(site, application, url: str) -> Delivery:
    subscription_put(site=site, application=application, url=url, secret="partner-secret")
    lead = lead_create(site=site, fields={"source": "Website", "first_name": "Jack"})
    return Delivery.objects.get(lead=lead)


# ---------------------------------------------------------------------------
# protection


def test_local_mode_without_a_token_serves_the_text_exposition():
    response = Client().get(METRICS)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    assert "# TYPE realgeeks_deliveries_total counter" in response.content.decode()


def test_with_a_token_set_a_scrape_without_it_is_refused(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS)

    assert response.status_code == 401
    assert response.json() == {"error": "Missing metrics token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_with_a_token_set_a_wrong_token_is_refused(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Bearer " + TOKEN[:-1] + "x")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid metrics token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics", error="invalid_token"'


def test_with_a_token_set_another_scheme_is_refused(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Basic " + TOKEN)

    assert response.status_code == 401


def test_with_a_token_set_the_right_token_is_served(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Bearer " + TOKEN)

    assert response.status_code == 200
    assert "realgeeks_delivery_queue_depth" in response.content.decode()


def test_disabled_metrics_answer_404_even_with_the_token(knobs):
    knobs.METRICS_ENABLED = False
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Bearer " + TOKEN)

    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_a_post_is_refused_with_405():
    response = Client().post(METRICS)

    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}
    assert response["Allow"] == "GET, HEAD"


PRODUCTION_SCRAPE = (
    "from django.test import Client; "
    "r = Client().get('/metrics', secure=True, HTTP_HOST='rg.example.com'); "
    "print(r.status_code, r.content.decode())"
)


def production_scrape(**env: str) -> subprocess.CompletedProcess[str]:
    return manage("shell", "--no-imports", "-c", PRODUCTION_SCRAPE, env=production_env(**env))


def test_production_without_a_token_answers_404():
    result = production_scrape()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '404 {"error": "Not Found"}'


def test_production_with_a_token_requires_it():
    result = production_scrape(METRICS_TOKEN=TOKEN)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '401 {"error": "Missing metrics token"}'


def test_production_refuses_to_start_with_metrics_forced_on_without_a_token():
    result = manage("check", env=production_env(METRICS_ENABLED="true"))

    assert result.returncode != 0
    assert "METRICS_ENABLED in production needs METRICS_TOKEN" in result.stderr


# ---------------------------------------------------------------------------
# request latency


def test_a_request_is_counted_under_its_route_name_method_and_status():
    before = scrape()

    assert Client().get("/healthz").status_code == 200

    after = scrape()
    labels = {"route": "healthz", "method": "GET", "status": "200"}
    assert value(after, REQUESTS, **labels) == value(before, REQUESTS, **labels) + 1


def test_a_path_under_a_route_is_labelled_with_the_route_never_the_path():
    site_uuid = uuid.uuid4().hex
    before = scrape()

    response = Client().get(f"/rest/sites/{site_uuid}/leads")

    text = scrape_text()
    labels = {"route": "leads", "method": "GET", "status": str(response.status_code)}
    assert value(parse(text), REQUESTS, **labels) == value(before, REQUESTS, **labels) + 1
    assert site_uuid not in text


def test_paths_no_route_matches_share_one_label():
    before = scrape()

    for _ in range(2):
        assert Client().get(f"/no/such/{uuid.uuid4().hex}").status_code == 404

    text = scrape_text()
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(parse(text), REQUESTS, **labels) == value(before, REQUESTS, **labels) + 2
    assert "/no/such/" not in text


def test_an_unknown_method_is_labelled_other():
    before = scrape()

    response = Client().generic("BREW", "/healthz")

    after = scrape()
    labels = {"route": "healthz", "method": "other", "status": str(response.status_code)}
    assert value(after, REQUESTS, **labels) == value(before, REQUESTS, **labels) + 1


# ---------------------------------------------------------------------------
# tokens issued


def test_a_code_exchange_counts_one_authorization_code_token(site, application, on_commit):
    before = scrape()

    with on_commit():
        obtain_tokens(application, site)

    after = scrape()
    assert value(after, TOKENS, grant_type="authorization_code") == (
        value(before, TOKENS, grant_type="authorization_code") + 1
    )
    assert value(after, TOKENS, grant_type="refresh_token") == value(
        before, TOKENS, grant_type="refresh_token"
    )


def test_a_refresh_counts_one_refresh_token_grant(site, application, on_commit):
    with on_commit():
        tokens = obtain_tokens(application, site)
    before = scrape()

    with on_commit():
        response = refresh(Client(), application, tokens["refresh_token"])

    assert response.status_code == 200
    after = scrape()
    assert value(after, TOKENS, grant_type="refresh_token") == (
        value(before, TOKENS, grant_type="refresh_token") + 1
    )


def test_a_refused_token_request_counts_nothing(application, on_commit):
    before = scrape()

    with on_commit():
        response = exchange_code(Client(), application, "not-a-code")

    assert response.status_code == 400
    after = scrape()
    for grant_type in ("authorization_code", "refresh_token"):
        assert value(after, TOKENS, grant_type=grant_type) == value(
            before, TOKENS, grant_type=grant_type
        )


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
def test_a_partner_without_a_free_slot_counts_deferred(receiver, site, application, settings):
    settings.DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION = 1
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
    receiver, site, application, settings, on_commit
):
    settings.DELIVERY_MAX_PENDING_PER_SUBSCRIPTION = 1
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
