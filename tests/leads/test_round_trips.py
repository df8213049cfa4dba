"""What a lead create on the Incoming Leads API sends PostgreSQL (issue 11): every
statement, BEGIN, COMMIT and savepoints included, in autocommit as in production; the
same whatever a subscription's backlog."""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.db import connection
from django.test import Client

from leads.models import Delivery, DeliveryBacklog, DeliveryState, Lead, LeadEvent
from oauth_provider.models import Connection
from tests.factories import ApplicationFactory, SubscriptionFactory, issue_access_token
from tests.leads.samples import LEAD
from tests.oauth_provider.flow import basic_auth

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_password_hashing"),
]


@contextmanager
def sent_to_postgresql() -> Iterator[list[str]]:
    """Each statement Django sends, and each command psycopg sends on its own (BEGIN,
    COMMIT, ROLLBACK; a BEGIN shows after the statement it was sent before)."""
    sent: list[str] = []
    send_command = psycopg.Connection._exec_command

    def command(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(query.decode() if isinstance(query, bytes) else str(query))
        return send_command(self, query, *args, **kwargs)

    def statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(" ".join(sql.split()))
        return execute(sql, params, many, context)

    with (
        mock.patch.object(psycopg.Connection, "_exec_command", command),
        connection.execute_wrapper(statement),
    ):
        yield sent


@pytest.fixture
def rate_limits(knobs):
    """Both limits of the path on, as in production (their statements are counted)."""
    assert knobs.RATE_LIMIT_INCOMING_API_PER_CLIENT is not None
    assert knobs.RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP is not None


@pytest.fixture
def subscription(site, application):
    Connection.objects.create(site=site, application=application, connected_by=site.owner)
    return SubscriptionFactory.create(
        site=site, application=application, url="https://partner.test/hook", secret="s"
    )


@pytest.fixture
def down_partner(site):
    """Another partner's subscription to the site, its backlog full (10,000 pending)."""
    subscription = SubscriptionFactory.create(
        site=site, application=ApplicationFactory.create(), url="https://down.test/", secret="d"
    )
    lead = Lead.objects.create(site=site, **LEAD)
    event = LeadEvent.objects.create(lead=lead, action="created", body=b"{}")
    limit = 10_000
    Delivery.objects.bulk_create(
        Delivery(event=event, subscription=subscription, lead=lead, action="created")
        for _ in range(limit)
    )
    DeliveryBacklog.objects.create(subscription=subscription, pending=limit)
    return subscription


def post_lead(site, authorization: str) -> uuid.UUID:
    lead_id = uuid.uuid4()
    response = Client().post(
        f"/rest/sites/{site.uuid}/leads",
        {**LEAD, "id": lead_id.hex},
        content_type="application/json",
        headers={"Authorization": authorization},
    )
    assert (response.status_code, response.json()) == (201, {})
    return lead_id


def kinds(sent: list[str]) -> list[str]:
    """Each statement named by what it is for."""
    names = {
        r"^SELECT .* FROM oauth_provider_application AS a LEFT JOIN": "client and site",
        r"^WITH hit_window AS .* SELECT key, hits FROM hit_counts$": "rate limit",
        r"^SELECT .* FROM oauth_provider_accesstoken": "bearer token",
        r"^WITH hit_window AS .* lead AS \( INSERT INTO leads_lead": (
            "rate limit, lead, event, deliveries, jobs"
        ),
    }
    return [
        next((name for pattern, name in names.items() if re.search(pattern, sql)), sql)
        for sql in sent
    ]


# The request is counted against its client's allowance, and the address's failed
# authentications read, in the lead's statement.
BASIC = ["client and site", "rate limit, lead, event, deliveries, jobs"]


def test_a_lead_created_with_client_credentials_takes_two_statements(
    site, application, subscription, rate_limits
):
    authorization = basic_auth(application.client_id)
    post_lead(site, authorization)  # the connection opened, the pool warm

    with sent_to_postgresql() as sent:
        lead_id = post_lead(site, authorization)

    assert kinds(sent) == BASIC
    [delivery] = Delivery.objects.filter(lead_id=lead_id)
    assert delivery.state == DeliveryState.PENDING


def test_a_lead_created_with_a_bearer_token_takes_two_statements(
    site, application, subscription, rate_limits
):
    authorization = f"Bearer {issue_access_token(site=site, application=application)}"
    post_lead(site, authorization)

    with sent_to_postgresql() as sent:
        post_lead(site, authorization)

    assert kinds(sent) == ["bearer token", "rate limit, lead, event, deliveries, jobs"]


def test_a_full_backlog_costs_no_statement_more(
    site, application, subscription, down_partner, rate_limits
):
    authorization = basic_auth(application.client_id)
    post_lead(site, authorization)

    with sent_to_postgresql() as sent:
        lead_id = post_lead(site, authorization)

    assert kinds(sent) == BASIC
    deliveries = Delivery.objects.filter(lead_id=lead_id).order_by("subscription")
    assert [(d.subscription_id, d.state) for d in deliveries] == [
        (subscription.pk, DeliveryState.PENDING),
        (down_partner.pk, DeliveryState.FAILED),
    ]
    assert DeliveryBacklog.objects.get(subscription=down_partner).pending == 10_000


def test_each_statement_is_planned_once_per_connection(
    site, application, subscription, rate_limits
):
    """Prepared (core.db), and past PostgreSQL's first five runs each on the generic plan
    it keeps, rather than planned again for every lead."""
    authorization = basic_auth(application.client_id)
    for _ in range(7):
        post_lead(site, authorization)

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        planned_once = [" ".join(sql.split()) for sql, generic in cursor.fetchall() if generic]

    assert set(BASIC) <= set(kinds(planned_once))
