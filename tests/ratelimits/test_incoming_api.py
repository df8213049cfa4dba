"""The Incoming Leads API's rate limit: per OAuth client, however it authenticated."""

import json

import pytest
from django.test import Client

from leads.models import Lead
from oauth_provider.models import Connection
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


def create_lead(site, authorization: str, ip: str = "127.0.0.1"):
    return Client(REMOTE_ADDR=ip).post(
        f"/rest/sites/{site.uuid}/leads",
        json.dumps({"source": "PieSync", "email": "ann@example.com"}),
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
