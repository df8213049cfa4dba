"""Round trips to PostgreSQL per Subscription API request (issue 11): every statement
the connection sends, BEGIN, COMMIT and savepoints included, as libpq traces them.

Outside a test transaction (`transactional_db`), as in production: a transaction the
request opened shows as its BEGIN and COMMIT.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from psycopg import pq

from subscriptions.models import Subscription
from tests.factories import SiteFactory, SubscriptionFactory, issue_access_token
from tests.http import send

pytestmark = pytest.mark.usefixtures("transactional_db", "fast_password_hashing")

BODY = {"url": "https://api.piesync.test/v1/realgeeks", "secret": "s3cret"}


@dataclass
class Wire:
    """What the test's connection sent, one message a line as libpq traces it."""

    lines: list[str] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        """Each statement's exchange ends with the server's ReadyForQuery."""
        return sum(line.startswith("B\t") and "\tReadyForQuery\t" in line for line in self.lines)

    @property
    def statements(self) -> list[str]:
        """The text of each statement sent (libpq quotes it)."""
        return [line.split("\t", 3)[3].strip()[1:-1] for line in self.lines if "\tQuery\t" in line]


@contextmanager
def wire() -> Iterator[Wire]:
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    seen = Wire()
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield seen
        finally:
            pgconn.untrace()
            trace.seek(0)
            for line in trace.read().splitlines():
                if line.startswith(("F\t", "B\t")):
                    seen.lines.append(line)
                elif seen.lines:  # a statement's text goes on over several lines
                    seen.lines[-1] += "\n" + line


def path(site) -> str:
    return f"/piesync/subscription/{site.uuid}/"


def call(method: str, site, token: str, body=None):
    return send(
        method,
        path(site),
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_counter_sees_a_transaction():
    """BEGIN and COMMIT are counted, not only the statements the ORM logs."""
    with wire() as seen, transaction.atomic():
        Subscription.objects.count()

    assert seen.round_trips == 3
    assert (seen.statements[0], seen.statements[-1]) == ("BEGIN", "COMMIT")


def test_get_is_one_round_trip(site, application, access_token):
    SubscriptionFactory.create(site=site, application=application, **BODY)

    with wire() as seen:
        response = call("GET", site, access_token)

    assert (response.status_code, response.json()) == (200, BODY)
    assert seen.round_trips == 1
    [statement] = seen.statements
    assert "oauth_provider_accesstoken" in statement
    assert "subscriptions_subscription" in statement


def test_get_of_no_subscription_is_one_round_trip(site, access_token):
    with wire() as seen:
        response = call("GET", site, access_token)

    assert response.status_code == 404
    assert seen.round_trips == 1


def test_get_of_an_inactive_subscription_is_one_round_trip(site, application, access_token):
    SubscriptionFactory.create(site=site, application=application, active=False, **BODY)

    with wire() as seen:
        response = call("GET", site, access_token)

    assert response.json()["active"] is False
    assert seen.round_trips == 1


@pytest.mark.parametrize("existing", [False, True], ids=["create", "replace"])
def test_put_is_two_round_trips_without_a_transaction(site, application, access_token, existing):
    if existing:
        SubscriptionFactory.create(site=site, application=application, **BODY)
    new = {"url": "https://hooks.piesync.test/v2", "secret": "n3w"}

    with wire() as seen:
        response = call("PUT", site, access_token, new)

    assert (response.status_code, response.json()) == (200, new)
    assert seen.round_trips == 2  # the token, the upsert
    assert not any("BEGIN" in s or "SAVEPOINT" in s for s in seen.statements)
    row = Subscription.objects.get()
    assert (row.url, row.secret, row.active) == (new["url"], new["secret"], True)


def test_put_of_invalid_fields_is_the_token_only(site, access_token):
    with wire() as seen:
        response = call("PUT", site, access_token, {"url": "", "secret": "x"})

    assert response.status_code == 422
    assert seen.round_trips == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_unknown_token_is_one_round_trip(site, method):
    with wire() as seen:
        response = call(method, site, "not-a-token-we-issued", BODY)

    assert response.status_code == 401
    assert seen.round_trips == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_sites_path_is_refused_after_the_token_alone(user, application, method):
    own, other = SiteFactory.create(owner=user), SiteFactory.create(owner=user)
    token = issue_access_token(site=own, application=application)

    with wire() as seen:
        response = call(method, other, token, BODY)

    assert response.status_code == 404
    assert seen.round_trips == 1
