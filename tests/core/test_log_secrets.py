"""Tokens, client secrets, subscription secrets, passwords and Authorization headers
never reach the logs, whatever the flow logs at the configured levels."""

import json
import logging

import pytest
from django.test import Client

from leads.delivery.retry import RetryDelivery
from leads.models import Delivery
from tests.factories import CLIENT_SECRET, PASSWORD
from tests.leads.worker import deliver_now
from tests.oauth_provider.flow import approve, basic_auth, exchange_code, logged_in_client, refresh

WEBHOOK_SECRET = "webhook-signing-secret-123"


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.django_db(transaction=True)  # the delivery attempt reads committed data
def test_the_whole_flow_logs_no_credential(all_logs, user, site, application, knobs):
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    browser = logged_in_client(user)  # the password goes through the login form
    code = approve(browser, application, site)["code"]
    tokens = exchange_code(Client(), application, code).json()
    rotated = refresh(Client(), application, tokens["refresh_token"]).json()
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {rotated['access_token']}")
    bearer.put(
        f"/piesync/subscription/{site.uuid}/",
        json.dumps({"url": "http://127.0.0.1:9/unreachable", "secret": WEBHOOK_SECRET}),
        content_type="application/json",
    )
    Client().put(  # a rejected token is logged as a failure, never by value
        f"/piesync/subscription/{site.uuid}/", HTTP_AUTHORIZATION="Bearer not-a-real-token"
    )
    Client().post(
        f"/rest/sites/{site.uuid}/leads",
        json.dumps({"source": "PieSync", "email": "ann@example.com"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    with pytest.raises(RetryDelivery):  # a connection error, logged
        deliver_now(Delivery.objects.get())

    logged = all_logs.text + "".join(str(record.args) for record in all_logs.records)
    assert all_logs.records, "the flow should have logged something"
    for secret in (
        PASSWORD,
        CLIENT_SECRET,
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
        WEBHOOK_SECRET,
        "not-a-real-token",
        basic_auth(application.client_id).split()[1],
    ):
        assert secret not in logged
