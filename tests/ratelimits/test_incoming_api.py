"""The Incoming Leads API's rate limit: per OAuth client, however it authenticated."""

import json

import httpx
import pytest
from django.test import Client

from leads.models import Lead, LeadEvent
from oauth_provider.models import Connection
from tests.concurrency import AT_ONCE, send_at_once
from tests.factories import ApplicationFactory, SiteFactory, issue_access_token
from tests.oauth_provider.flow import basic_auth
from tests.ratelimits.helpers import assert_too_many_requests, per_hour

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def limited(no_limits):
    no_limits.RATE_LIMIT_INCOMING_API_PER_CLIENT = per_hour(3)
    return no_limits


@pytest.fixture
def connected(user, site, application):
    """`application` connected to `site`, so its id and secret reach the site."""
    Connection.objects.create(site=site, application=application, connected_by=user)
    return application


def create_lead(site, authorization: str, ip: str = "127.0.0.1", body: object = None, path="leads"):
    return Client(REMOTE_ADDR=ip).post(
        f"/rest/sites/{site.uuid}/{path}",
        json.dumps({"source": "PieSync", "email": "ann@example.com"} if body is None else body),
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization,
    )


def test_past_the_limit_the_answer_is_429_and_no_lead_is_made(limited, site, connected):
    basic = basic_auth(connected.client_id)
    assert [create_lead(site, basic).status_code for _ in range(3)] == [201] * 3

    assert_too_many_requests(create_lead(site, basic), at_most=3600)
    assert Lead.objects.count() == 3


def test_basic_credentials_and_bearer_tokens_share_the_clients_allowance(limited, site, connected):
    bearer = f"Bearer {issue_access_token(site=site, application=connected)}"
    for _ in range(2):
        create_lead(site, basic_auth(connected.client_id))
    assert create_lead(site, bearer).status_code == 201

    assert create_lead(site, bearer).status_code == 429


def test_the_allowance_is_the_clients_from_every_address(limited, site, connected):
    for n in range(3):
        create_lead(site, basic_auth(connected.client_id), ip=f"198.51.100.{n}")

    assert create_lead(site, basic_auth(connected.client_id), ip="203.0.113.1").status_code == 429


def test_another_client_is_not_held(limited, user, site, connected):
    other = ApplicationFactory.create()
    Connection.objects.create(site=site, application=other, connected_by=user)
    for _ in range(4):
        create_lead(site, basic_auth(connected.client_id))

    assert create_lead(site, basic_auth(other.client_id)).status_code == 201


def test_requests_without_valid_credentials_are_401_not_counted(limited, site, connected):
    for _ in range(4):
        assert create_lead(site, basic_auth(connected.client_id, "wrong")).status_code == 401

    assert create_lead(site, basic_auth(connected.client_id)).status_code == 201


def test_the_allowance_is_checked_before_the_site(limited, user, site, connected):
    """Requests for a site the client does not reach count too, and past the limit they
    are 429 like the others: a client over its allowance learns nothing of sites."""
    unconnected = SiteFactory.create(owner=user)
    basic = basic_auth(connected.client_id)
    assert [create_lead(unconnected, basic).status_code for _ in range(3)] == [404] * 3

    assert_too_many_requests(create_lead(unconnected, basic), at_most=3600)
    assert create_lead(site, basic).status_code == 429


def test_every_incoming_endpoint_is_limited(limited, site, connected):
    basic = basic_auth(connected.client_id)
    create_lead(site, basic)
    lead_id = Lead.objects.get().pk.hex
    for _ in range(2):
        patched = Client().patch(
            f"/rest/sites/{site.uuid}/leads/{lead_id}",
            json.dumps({"first_name": "Ann"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic,
        )
        assert patched.status_code == 200

    response = Client().post(
        f"/rest/sites/{site.uuid}/leads/{lead_id}/activities",
        json.dumps([{"type": "note", "source": "PieSync", "description": "Called"}]),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic,
    )
    assert response.status_code == 429


# --- lead create: counted in the lead's own statement (leads.views.LeadCreateView) -------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"email": "ann@example.com"}, 422, id="invalid-fields"),
        pytest.param([], 400, id="not-an-object"),
        pytest.param(
            {"source": "PieSync", "id": "7c9e6679742540de944be07fc1f90ae7"}, 409, id="id-exists"
        ),
    ],
)
def test_a_lead_refused_for_its_body_counts_too(limited, site, connected, body, status):
    basic = basic_auth(connected.client_id)
    if status == 409:
        Lead.objects.create(site=site, id="7c9e6679742540de944be07fc1f90ae7", source="PieSync")
    assert [create_lead(site, basic, body=body).status_code for _ in range(3)] == [status] * 3

    assert_too_many_requests(create_lead(site, basic), at_most=3600)
    assert Lead.objects.count() == (1 if status == 409 else 0)


def test_a_lead_refused_for_its_number_of_activities_counts_too(limited, site, connected):
    """The cap is the service's, checked before the lead's statement would count it."""
    limited.LEAD_REQUEST_MAX_ACTIVITIES = 1
    basic = basic_auth(connected.client_id)
    note = {"type": "note", "source": "PieSync", "description": "Called"}
    body = {"source": "PieSync", "activities": [note, note]}
    assert [create_lead(site, basic, body=body).status_code for _ in range(3)] == [422] * 3

    assert_too_many_requests(create_lead(site, basic), at_most=3600)
    assert not Lead.objects.exists()


def test_past_the_limit_a_bad_body_is_429_too(limited, site, connected):
    basic = basic_auth(connected.client_id)
    for _ in range(3):
        create_lead(site, basic)

    assert_too_many_requests(create_lead(site, basic, body={"email": "x"}), at_most=3600)
    assert_too_many_requests(create_lead(site, basic, body="not an object"), at_most=3600)
    assert Lead.objects.count() == 3


def test_potential_seller_leads_count_against_the_same_allowance(limited, site, connected):
    basic = basic_auth(connected.client_id)
    for _ in range(2):
        assert create_lead(site, basic).status_code == 201
    assert create_lead(site, basic, path="potential-seller-leads").status_code == 201

    response = create_lead(site, basic, path="potential-seller-leads")
    assert_too_many_requests(response, at_most=3600)
    assert Lead.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_leads_sent_at_once_past_the_limit_are_refused_and_write_nothing(
    live_server, no_limits, user, site, application
):
    """Each request on its own connection: as many leads as the allowance, whichever
    requests win, and every other one a 429 that wrote nothing."""
    allowance = AT_ONCE // 2
    no_limits.RATE_LIMIT_INCOMING_API_PER_CLIENT = per_hour(allowance)
    Connection.objects.create(site=site, application=application, connected_by=user)
    requests = [
        httpx.Request(
            "POST",
            f"{live_server.url}/rest/sites/{site.uuid}/leads",
            json={"source": "PieSync", "email": "ann@example.com"},
            headers={"Authorization": basic_auth(application.client_id)},
        )
        for _ in range(AT_ONCE)
    ]

    answers = send_at_once(requests)

    assert sorted(answer.status_code for answer in answers) == [201] * allowance + [429] * (
        AT_ONCE - allowance
    )
    assert Lead.objects.count() == allowance
    assert LeadEvent.objects.count() == allowance
