"""Rate limits on POST /piesync/oauth/token/: per client, and per address."""

import time
from typing import Any

import pytest
from django.test import Client

from oauth_provider.models import AccessToken, RefreshToken
from ratelimits.rates import Rate
from tests.factories import ApplicationFactory
from tests.oauth_provider.flow import TOKEN, basic_auth, obtain_tokens
from tests.ratelimits.helpers import assert_oauth_too_many_requests, at_window_start, per_hour

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


UNKNOWN = "not-a-refresh-token"


def token_request(
    application,
    *,
    ip: str = "127.0.0.1",
    refresh_token: str = UNKNOWN,
    secret: str | None = None,
    **extra: Any,
):
    """A refresh request from `ip`; an unknown refresh token gets 400 invalid_grant."""
    authorization = (
        basic_auth(application.client_id)
        if secret is None
        else basic_auth(application.client_id, secret)
    )
    return Client(REMOTE_ADDR=ip).post(
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=authorization,
        **extra,
    )


def statuses(responses) -> list[int]:
    return [response.status_code for response in responses]


@pytest.fixture
def client_limit(no_limits):
    no_limits.RATE_LIMIT_TOKEN_PER_CLIENT = per_hour(3)
    return no_limits


@pytest.fixture
def ip_limit(no_limits):
    no_limits.RATE_LIMIT_TOKEN_PER_IP = per_hour(3)
    return no_limits


def test_past_the_client_limit_the_answer_is_429_with_json_and_retry_after(
    client_limit, application
):
    assert statuses(token_request(application) for _ in range(3)) == [400, 400, 400]

    assert_oauth_too_many_requests(token_request(application), at_most=3600)


def test_the_client_limit_holds_from_every_address(client_limit, application):
    for n in range(3):
        token_request(application, ip=f"198.51.100.{n}")

    assert token_request(application, ip="203.0.113.9").status_code == 429


def test_another_client_is_not_held_by_the_client_limit(client_limit, application):
    for _ in range(4):
        token_request(application)

    assert token_request(ApplicationFactory.create()).status_code == 400


def test_wrong_secrets_do_not_use_up_the_clients_allowance(client_limit, application):
    """Client ids are public: requests that only name the client do not count as it."""
    assert statuses(token_request(application, secret="wrong") for _ in range(5)) == [401] * 5

    assert token_request(application).status_code == 400


def test_past_the_address_limit_the_answer_is_429_whatever_the_client(ip_limit, db):
    for _ in range(3):
        token_request(ApplicationFactory.create())

    assert_oauth_too_many_requests(token_request(ApplicationFactory.create()), at_most=3600)


def test_unauthenticated_requests_count_against_the_address(ip_limit, application):
    for _ in range(3):
        token_request(application, secret="guess")

    assert token_request(application).status_code == 429


def test_another_address_is_not_held_by_the_address_limit(ip_limit, application):
    for _ in range(4):
        token_request(application, ip="198.51.100.1")

    assert token_request(application, ip="198.51.100.2").status_code == 400


def test_behind_the_proxy_each_forwarded_client_has_its_own_allowance(ip_limit, application):
    ip_limit.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for _ in range(4):
        token_request(application, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert (
        token_request(application, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 400
    )
    # Forging an address to the left of the proxy's changes nothing.
    forged = token_request(application, ip=proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1")
    assert forged.status_code == 429


def test_a_refused_request_does_not_refresh(no_limits, site, application):
    tokens = obtain_tokens(application, site)
    no_limits.RATE_LIMIT_TOKEN_PER_CLIENT = per_hour(1)
    token_request(application)
    access_tokens = AccessToken.objects.count()

    response = token_request(application, refresh_token=tokens["refresh_token"])

    assert response.status_code == 429
    assert AccessToken.objects.count() == access_tokens
    assert RefreshToken.objects.get().revoked is None
    no_limits.RATE_LIMIT_TOKEN_PER_CLIENT = None
    assert token_request(application, refresh_token=tokens["refresh_token"]).status_code == 200


def test_the_allowance_comes_back_after_retry_after(no_limits, application):
    no_limits.RATE_LIMIT_TOKEN_PER_CLIENT = Rate(limit=2, seconds=2)
    at_window_start(2)
    for _ in range(2):
        token_request(application)
    retry_after = assert_oauth_too_many_requests(token_request(application), at_most=2)

    time.sleep(retry_after)

    assert token_request(application).status_code == 400
