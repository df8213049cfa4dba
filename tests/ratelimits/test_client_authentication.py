"""Failed client authentication, limited per address on every endpoint that takes a
client's id and secret: the token, revocation and introspection endpoints and the
Incoming Leads API share one count."""

import json

import pytest
from django.test import Client

from leads.models import Lead
from oauth_provider.models import Connection
from tests.factories import issue_access_token
from tests.oauth_provider.flow import INTROSPECT, REVOKE, TOKEN, basic_auth
from tests.ratelimits.helpers import (
    assert_oauth_too_many_requests,
    assert_too_many_requests,
    per_hour,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

WRONG = "not-the-secret"


@pytest.fixture
def limited(no_limits):
    no_limits.RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP = per_hour(3)
    return no_limits


@pytest.fixture
def connected(user, site, application):
    """`application` connected to `site`, so its id and secret reach the site."""
    Connection.objects.create(site=site, application=application, connected_by=user)
    return application


def create_lead(site, application, secret=None, ip="127.0.0.1"):
    return Client(REMOTE_ADDR=ip).post(
        f"/rest/sites/{site.uuid}/leads",
        json.dumps({"source": "PieSync", "email": "ann@example.com"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(application.client_id, *([secret] if secret else [])),
    )


def oauth_post(path, application, secret=None, ip="127.0.0.1"):
    """A token (unknown refresh token: 400 when the client authenticates), revocation or
    introspection request (200 when it does)."""
    data = (
        {"grant_type": "refresh_token", "refresh_token": "unknown"}
        if path == TOKEN
        else {"token": "unknown"}
    )
    return Client(REMOTE_ADDR=ip).post(
        path,
        data,
        HTTP_AUTHORIZATION=basic_auth(application.client_id, *([secret] if secret else [])),
    )


def test_incoming_api_past_the_failures_even_the_right_secret_is_429(limited, site, connected):
    statuses = [create_lead(site, connected, WRONG).status_code for _ in range(3)]
    assert statuses == [401] * 3

    assert_too_many_requests(create_lead(site, connected), at_most=3600)
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(lambda app: basic_auth(app.client_id, WRONG), id="wrong-secret"),
        pytest.param(lambda app: basic_auth("unknown-client"), id="unknown-client"),
        pytest.param(lambda app: "Basic not-base64!", id="malformed"),
    ],
)
def test_incoming_api_past_the_failures_a_failure_is_429_too(
    limited, site, connected, authorization
):
    for _ in range(3):
        create_lead(site, connected, WRONG)

    response = Client().post(
        f"/rest/sites/{site.uuid}/leads",
        json.dumps({"source": "PieSync"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization(connected),
    )

    assert_too_many_requests(response, at_most=3600)


@pytest.mark.parametrize(("path", "success"), [(TOKEN, 400), (REVOKE, 200), (INTROSPECT, 200)])
def test_oauth_endpoint_past_the_failures_even_the_right_secret_is_429(
    limited, application, path, success
):
    assert oauth_post(path, application).status_code == success
    statuses = [oauth_post(path, application, WRONG).status_code for _ in range(3)]
    assert statuses == [401] * 3

    assert_oauth_too_many_requests(oauth_post(path, application), at_most=3600)


def test_failures_on_every_endpoint_add_up(limited, site, connected):
    oauth_post(TOKEN, connected, WRONG)
    oauth_post(REVOKE, connected, WRONG)
    create_lead(site, connected, WRONG)

    assert oauth_post(INTROSPECT, connected).status_code == 429


def test_successes_are_not_counted(limited, site, connected):
    for _ in range(4):
        assert create_lead(site, connected).status_code == 201
        assert oauth_post(REVOKE, connected).status_code == 200

    assert create_lead(site, connected, WRONG).status_code == 401


def test_another_address_is_not_held(limited, site, connected):
    for _ in range(4):
        create_lead(site, connected, WRONG, ip="198.51.100.1")

    assert create_lead(site, connected, ip="198.51.100.2").status_code == 201
    assert oauth_post(TOKEN, connected, ip="198.51.100.2").status_code == 400


def test_bearer_tokens_on_the_incoming_api_are_not_held(limited, site, connected):
    for _ in range(4):
        create_lead(site, connected, WRONG)
    token = issue_access_token(site=site, application=connected)

    response = Client().post(
        f"/rest/sites/{site.uuid}/leads",
        json.dumps({"source": "PieSync"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 201
