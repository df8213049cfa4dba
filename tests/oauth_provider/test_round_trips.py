"""Statements per token request (issue 11): a refresh in at most 9, a code exchange in at
most 10, counted as PostgreSQL receives them.

Counted with `connection.execute_wrapper`, which sees every statement Django sends,
savepoints included. Inside the test's transaction, the token view's transaction is a
SAVEPOINT and its RELEASE: they stand for the BEGIN and COMMIT that production sends, so
the counts are every round trip of the request, the rate limits' included.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.oauth_provider.flow import approve, exchange_code, obtain_tokens, refresh, signed_in

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


class Statements(list[str]):
    """The SQL of every statement sent while recording."""

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.append(" ".join(sql.split()))
        return execute(sql, params, many, context)

    def starting(self, prefix: str) -> list[str]:
        return [sql for sql in self if sql.upper().startswith(prefix)]

    def __str__(self) -> str:
        return "\n".join(f"{n:2}. {sql[:150]}" for n, sql in enumerate(self, 1))


@contextmanager
def recorded() -> Iterator[Statements]:
    statements = Statements()
    with connection.execute_wrapper(statements):
        yield statements


@pytest.fixture
def tokens(site, application) -> dict:
    return obtain_tokens(application, site)


@pytest.fixture
def code(site, application) -> str:
    return approve(signed_in(site.owner), application, site)["code"]


def test_a_refresh_is_at_most_nine_statements(application, tokens):
    with recorded() as statements:
        response = refresh(Client(), application, tokens["refresh_token"])

    assert response.status_code == 200
    assert len(statements) <= 9, statements


def test_a_code_exchange_is_at_most_ten_statements(application, code):
    with recorded() as statements:
        response = exchange_code(Client(), application, code)

    assert response.status_code == 200
    assert len(statements) <= 10, statements


def test_a_refresh_opens_no_savepoint_in_its_transaction(application, tokens):
    with recorded() as statements:
        refresh(Client(), application, tokens["refresh_token"])

    assert len(statements.starting("SAVEPOINT")) == 1, statements  # the transaction itself


def test_a_code_exchange_opens_no_savepoint_in_its_transaction(application, code):
    with recorded() as statements:
        exchange_code(Client(), application, code)

    assert len(statements.starting("SAVEPOINT")) == 1, statements


def test_a_refresh_reads_the_client_and_the_refresh_token_once(application, tokens):
    with recorded() as statements:
        refresh(Client(), application, tokens["refresh_token"])

    reads = statements.starting("SELECT")
    assert len([sql for sql in reads if "FROM oauth_provider_application" in sql]) == 1, statements
    assert len([sql for sql in reads if "FROM oauth_provider_refreshtoken" in sql]) == 1, statements
    # Nothing reads back the tokens it just wrote.
    assert not [sql for sql in reads if "FROM oauth_provider_accesstoken" in sql], statements


def test_a_refresh_retires_the_presented_token_in_one_statement(application, tokens):
    with recorded() as statements:
        refresh(Client(), application, tokens["refresh_token"])

    writes = [sql for sql in statements if not sql.upper().startswith(("SELECT", "SAVEPOINT"))]
    retire = [sql for sql in writes if "oauth_provider_accesstoken" in sql and "DELETE" in sql]
    assert len(retire) == 1 and "UPDATE oauth_provider_refreshtoken" in retire[0], statements


def test_a_code_exchange_reads_the_client_and_the_code_once(application, code):
    with recorded() as statements:
        exchange_code(Client(), application, code)

    reads = statements.starting("SELECT")
    assert len([sql for sql in reads if "FROM oauth_provider_application" in sql]) == 1, statements
    assert len([sql for sql in reads if "oauth_provider_grant" in sql]) == 1, statements
    assert not [sql for sql in reads if "FROM oauth_provider_accesstoken" in sql], statements
