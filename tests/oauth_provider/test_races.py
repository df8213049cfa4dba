"""Concurrent requests on one code or one refresh token, and what races them (a
revocation, a disconnect, a replay, a reuse), against a live threaded server.

Each racer is a real thread with its own HTTP connection, so each request is its own
server thread with its own database connection and transaction: the races are the ones
production has, not ones simulated inside a test transaction.
"""

import re
import threading
from collections.abc import Callable

import httpx
import pytest
from django.conf import settings

from oauth_provider.models import AccessToken, Connection, RefreshToken
from tests.factories import REDIRECT_URI
from tests.oauth_provider.flow import (
    CONNECTED_APPS,
    REVOKE,
    TOKEN,
    approve,
    basic_auth,
    obtain_tokens,
    signed_in,
)

pytestmark = pytest.mark.usefixtures("transactional_db", "fast_password_hashing", "no_rate_limits")

RACERS = 20
ROUNDS = 5
TIMEOUT = 30  # seconds, for one request and for one round's threads


@pytest.fixture
def no_rate_limits(knobs):
    """Hundreds of token requests in seconds are the point here, not what the limits count."""
    knobs.RATE_LIMIT_TOKEN_PER_CLIENT = None
    knobs.RATE_LIMIT_TOKEN_PER_IP = None


Request = Callable[[httpx.Client], httpx.Response]


@pytest.fixture
def send(live_server, application) -> Callable[[dict[str, str]], Request]:
    """A token request with these parameters, from `application`."""
    return lambda data: token_request(live_server, application, data)


def race(*requests: Request) -> list[httpx.Response]:
    """Each request sent from its own thread, all released at once; every answer, in the
    order of `requests`."""
    barrier = threading.Barrier(len(requests))
    responses: dict[int, httpx.Response] = {}

    def racer(index: int, request: Request) -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            barrier.wait(timeout=TIMEOUT)
            responses[index] = request(client)

    threads = [threading.Thread(target=racer, args=item) for item in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert len(responses) == len(requests), "a racer failed or hung"
    return [responses[index] for index in range(len(requests))]


def alone(request: Request) -> httpx.Response:
    """A request sent with nothing racing it."""
    with httpx.Client(timeout=TIMEOUT) as client:
        return request(client)


def token_request(live_server, application, data: dict[str, str], path: str = TOKEN) -> Request:
    """A POST to an OAuth endpoint, authenticated with HTTP Basic."""

    def post(client: httpx.Client) -> httpx.Response:
        return client.post(
            f"{live_server.url}{path}",
            data=data,
            headers={"Authorization": basic_auth(application.client_id)},
        )

    return post


def disconnect_request(live_server, site, application) -> Request:
    """The site owner pressing Disconnect for `application` on the connected-apps page
    (loaded beforehand, so that only the POST races)."""
    session = signed_in(site.owner).cookies[settings.SESSION_COOKIE_NAME].value
    connection = Connection.objects.get(site=site, application=application)
    with httpx.Client(timeout=TIMEOUT) as browser:
        browser.cookies.set(settings.SESSION_COOKIE_NAME, session)
        page = browser.get(f"{live_server.url}{CONNECTED_APPS}")
        csrf_cookie = browser.cookies[settings.CSRF_COOKIE_NAME]
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, page.text

    def post(client: httpx.Client) -> httpx.Response:
        return client.post(
            f"{live_server.url}{CONNECTED_APPS}{connection.pk}/disconnect/",
            data={"csrfmiddlewaretoken": match[1]},
            headers={
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; "
                f"{settings.CSRF_COOKIE_NAME}={csrf_cookie}"
            },
        )

    return post


def split_winners(responses: list[httpx.Response]) -> tuple[list[dict], list[httpx.Response]]:
    return (
        [response.json() for response in responses if response.status_code == 200],
        [response for response in responses if response.status_code != 200],
    )


def assert_invalid_grant_with_description(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_grant"
    assert body["error_description"]


def assert_dead(live_server, application, site, tokens: dict) -> None:
    """Neither the access token nor the refresh token of a pair works any more."""
    with httpx.Client(timeout=TIMEOUT) as client:
        api = client.get(
            f"{live_server.url}/piesync/subscription/{site.uuid}/",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert api.status_code == 401, api.text
        again = token_request(
            live_server,
            application,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )(client)
        assert_invalid_grant_with_description(again)


def assert_nothing_alive() -> None:
    """No access token, and no refresh token that is not revoked."""
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_concurrent_refreshes_of_one_token_answer_one_200_and_invalid_grant(
    live_server, application, site, send
):
    for _ in range(ROUNDS):
        tokens = obtain_tokens(application, site)
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}

        winners, losers = split_winners(race(*[send(refresh)] * RACERS))

        assert len(winners) == 1, [r.text for r in losers]
        for response in losers:
            assert_invalid_grant_with_description(response)


def test_concurrent_refreshes_leave_the_issued_pair_dead(live_server, application, site, send):
    # RFC 9700 §4.14.2: the server cannot tell which racer holds a stolen token, so the
    # losers' reuse revokes the family, the winner's fresh pair included.
    for _ in range(ROUNDS):
        tokens = obtain_tokens(application, site)
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}

        winners, _ = split_winners(race(*[send(refresh)] * RACERS))

        assert len(winners) == 1
        assert_dead(live_server, application, site, winners[0])
        assert_nothing_alive()


def test_concurrent_exchanges_of_one_code_answer_one_200_and_invalid_grant(
    live_server, application, site, send
):
    for _ in range(ROUNDS):
        code = approve(signed_in(site.owner), application, site)["code"]
        exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

        winners, losers = split_winners(race(*[send(exchange)] * RACERS))

        assert len(winners) == 1, [r.text for r in losers]
        for response in losers:
            assert_invalid_grant_with_description(response)


def test_concurrent_exchanges_of_one_code_leave_the_issued_pair_dead(
    live_server, application, site, send
):
    # RFC 6749 §4.1.2: a code used more than once revokes the tokens issued from it.
    for _ in range(ROUNDS):
        code = approve(signed_in(site.owner), application, site)["code"]
        exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

        winners, _ = split_winners(race(*[send(exchange)] * RACERS))

        assert len(winners) == 1
        assert_dead(live_server, application, site, winners[0])


def test_a_refresh_racing_the_revocation_of_its_token_leaves_nothing_alive(
    live_server, application, site
):
    # RFC 7009 §2.1: once the refresh token is revoked, so is everything issued from its
    # grant, whichever of the two requests the server took first.
    for _ in range(ROUNDS * 2):
        tokens = obtain_tokens(application, site)
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}

        refreshed, revoked = race(
            token_request(live_server, application, refresh),
            token_request(live_server, application, revoke, path=REVOKE),
        )

        assert revoked.status_code == 200, revoked.text
        if refreshed.status_code == 200:
            assert_dead(live_server, application, site, refreshed.json())
        else:
            assert_invalid_grant_with_description(refreshed)


def test_a_refresh_racing_a_disconnect_leaves_nothing_alive(live_server, site, application, send):
    for _ in range(ROUNDS * 2):
        tokens = obtain_tokens(application, site)
        disconnect = disconnect_request(live_server, site, application)

        refreshed, disconnected = race(
            send({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}),
            disconnect,
        )

        assert disconnected.status_code == 302, disconnected.text
        if refreshed.status_code != 200:
            assert_invalid_grant_with_description(refreshed)
        assert_nothing_alive()


def test_a_code_exchange_racing_a_disconnect_leaves_nothing_alive(
    live_server, site, application, send
):
    # The site is connected; its owner consents again, and disconnects as PieSync
    # exchanges the new code.
    for _ in range(ROUNDS * 2):
        obtain_tokens(application, site)
        code = approve(signed_in(site.owner), application, site)["code"]
        disconnect = disconnect_request(live_server, site, application)

        exchanged, disconnected = race(
            send({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}),
            disconnect,
        )

        assert disconnected.status_code == 302, disconnected.text
        if exchanged.status_code != 200:
            assert_invalid_grant_with_description(exchanged)
        assert_nothing_alive()


def test_a_code_replay_racing_a_refresh_leaves_nothing_alive(live_server, site, application, send):
    # RFC 6749 §4.1.2: the replay revokes what the code produced, also what a refresh
    # running at that moment extends it with.
    for _ in range(ROUNDS * 2):
        code = approve(signed_in(site.owner), application, site)["code"]
        exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        tokens = alone(send(exchange)).json()

        replayed, refreshed = race(
            send(exchange),
            send({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}),
        )

        assert_invalid_grant_with_description(replayed)
        if refreshed.status_code != 200:
            assert_invalid_grant_with_description(refreshed)
        assert_nothing_alive()


def test_a_reuse_racing_a_refresh_of_the_newer_token_leaves_nothing_alive(
    live_server, site, application, send
):
    # RFC 9700 §4.14.2: the reuse of a retired token revokes the family, also the pair a
    # refresh of the current token is issued at that moment.
    for _ in range(ROUNDS * 2):
        first = obtain_tokens(application, site)
        retired = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        current = alone(send(retired)).json()

        reused, refreshed = race(
            send(retired),
            send({"grant_type": "refresh_token", "refresh_token": current["refresh_token"]}),
        )

        assert_invalid_grant_with_description(reused)
        if refreshed.status_code != 200:
            assert_invalid_grant_with_description(refreshed)
        assert_nothing_alive()
