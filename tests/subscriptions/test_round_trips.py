"""Round trips to PostgreSQL per Subscription API request (issue 11): every statement
the connection sends, BEGIN, COMMIT and savepoints included, as libpq traces them.

Outside a test transaction (`transactional_db`), as in production: a transaction the
request opened shows as its BEGIN and COMMIT. On a connection that has served these
requests before (`prepared`), as the pool's are: the first run of a prepared statement
on a connection costs one round trip more (core.db), counted apart.
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

pytestmark = pytest.mark.usefixtures("transactional_db", "fast_password_hashing", "prepared")

BODY = {"url": "https://api.piesync.test/v1/realgeeks", "secret": "s3cret"}


@dataclass
class Wire:
    """What the test's connection sent, one message a line as libpq traces it
    ("F<tab>length<tab>Query<tab> fields"), and its prepared statements' texts by name."""

    lines: list[str] = field(default_factory=list)
    prepared: dict[str, str] = field(default_factory=dict)

    @property
    def round_trips(self) -> int:
        """Each statement's exchange ends with the server's ReadyForQuery."""
        return sum(line.startswith("B\t") and "\tReadyForQuery\t" in line for line in self.lines)

    @property
    def statements(self) -> list[str]:
        """The text of each statement run: a query's own (libpq quotes it), or that of the
        prepared statement a Bind names."""
        run = []
        for message, fields in self._sent():
            if message == "Query":
                run.append(fields.strip()[1:-1])
            elif message == "Bind":  # the portal's name, then the statement's, quoted
                run.append(self.prepared[fields.split('"')[3]])
        return run

    @property
    def parses(self) -> int:
        """Statements prepared meanwhile, each in a round trip of its own."""
        return sum(message == "Parse" for message, _ in self._sent())

    def _sent(self) -> Iterator[tuple[str, str]]:
        for line in self.lines:
            if line.startswith("F\t"):
                _, _, message, fields = (line + "\t").split("\t", 3)
                yield message, fields


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
            with connection.cursor() as cursor:
                cursor.execute("SELECT name, statement FROM pg_prepared_statements")
                seen.prepared = dict(cursor.fetchall())


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


@pytest.fixture
def prepared(user, application):
    """The statements of these requests prepared on the test's connection, as on a pooled
    connection that has served them: a PUT, a GET and a DELETE of another site."""
    other = SiteFactory.create(owner=user)
    token = issue_access_token(site=other, application=application)
    for method in ("PUT", "GET", "DELETE"):
        assert call(method, other, token, BODY).status_code in (200, 204)
    assert call("GET", other, "not-a-token-we-issued").status_code == 401


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


def test_a_new_connection_prepares_the_get_once(new_connection, site, application, access_token):
    """Its first GET costs the Parse's round trip too; the next one, on that connection, not."""
    SubscriptionFactory.create(site=site, application=application, **BODY)

    with wire() as first:
        call("GET", site, access_token)
    with wire() as second:
        call("GET", site, access_token)

    assert (first.round_trips, first.parses) == (2, 1)
    assert (second.round_trips, second.parses) == (1, 0)
    assert first.statements == second.statements


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
    row = Subscription.objects.get(site=site)
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
