import base64
import json
import logging

from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from core.request_id import RequestIdFilter, bound_request_id
from oauth_provider.models import Connection
from tests.factories import CLIENT_SECRET, SubscriptionFactory


def test_a_request_id_is_made_when_none_is_sent():
    response = Client().get("/healthz")

    assert len(response["X-Request-ID"]) == 32


def test_the_callers_request_id_is_returned():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="piesync-abc.123")

    assert response["X-Request-ID"] == "piesync-abc.123"


def test_a_malformed_request_id_is_replaced():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID='evil" id\n{"level":"x"}')

    assert response["X-Request-ID"] != 'evil" id\n{"level":"x"}'
    assert len(response["X-Request-ID"]) == 32


def test_log_records_carry_the_request_id():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)

    with bound_request_id("req-42"):
        RequestIdFilter().filter(record)

    assert record.request_id == "req-42"  # type: ignore[attr-defined]  # set by the filter


def test_delivery_jobs_carry_the_request_id_that_caused_them(site, application):
    Connection.objects.create(site=site, application=application)
    SubscriptionFactory.create(
        site=site, application=application, url="https://hooks.example.com/x", secret="s"
    )

    response = Client().post(
        f"/rest/sites/{site.uuid}/leads",
        json.dumps({"source": "PieSync"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(application.client_id),
        HTTP_X_REQUEST_ID="req-from-piesync",
    )

    assert response.status_code == 201
    job = ProcrastinateJob.objects.get(task_name="leads.tasks.deliver")
    assert job.args["request_id"] == "req-from-piesync"


def basic(client_id: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{CLIENT_SECRET}".encode()).decode()


def test_djangos_request_log_line_carries_the_request_id():
    seen: list[str | None] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.request_id)  # type: ignore[attr-defined]  # set by the filter

    handler = Collect(level=logging.WARNING)
    handler.addFilter(RequestIdFilter())  # as the console handler has it
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        Client().get("/piesync/nope", HTTP_X_REQUEST_ID="req-404")
    finally:
        logger.removeHandler(handler)

    assert seen == ["req-404"]
