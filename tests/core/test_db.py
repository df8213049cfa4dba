"""Prepared statements (core.db): only the hot paths' own cursors prepare, each statement
once per connection, and their errors are Django's."""

import pytest
from django.db import IntegrityError, connection, transaction

from core.db import prepared_cursor
from sites.models import Site
from tests.factories import SiteFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("new_connection")]

SITE_DOMAIN = "SELECT domain FROM customer_sites_site WHERE uuid = %s"


def prepared_statements() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements: text -> (generic plans, custom plans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {statement: (generic, custom) for statement, generic, custom in cursor.fetchall()}


def test_a_statement_is_prepared_on_its_first_run():
    site = SiteFactory.create()
    with prepared_cursor() as cursor:
        cursor.execute(SITE_DOMAIN, [site.uuid])
        assert cursor.fetchone() == (site.domain,)
    assert SITE_DOMAIN.replace("%s", "$1") in prepared_statements()


def test_its_later_runs_reuse_one_plan():
    """PostgreSQL plans the first five runs for their values, then settles on the generic
    plan of a lookup by key: planned once from then on."""
    site = SiteFactory.create()
    for _ in range(8):
        with prepared_cursor() as cursor:
            cursor.execute(SITE_DOMAIN, [site.uuid])
    assert prepared_statements()[SITE_DOMAIN.replace("%s", "$1")] == (3, 5)


def test_the_orm_prepares_nothing():
    SiteFactory.create()
    for _ in range(8):
        assert Site.objects.filter(domain__startswith="x").count() == 0
    assert prepared_statements() == {}, "the ORM's statements are sent, never prepared"


def test_an_error_is_djangos():
    site = SiteFactory.create()
    with pytest.raises(IntegrityError), prepared_cursor() as cursor:
        cursor.execute(
            "INSERT INTO customer_sites_site (uuid, domain, name, owner_id, created, updated)"
            " SELECT uuid, domain, name, owner_id, created, updated"
            " FROM customer_sites_site WHERE id = %s",
            [site.pk],
        )


def test_a_statement_runs_again_after_a_rollback():
    """psycopg forgets its prepared statements when a transaction rolls back (what was
    prepared in it is gone on the server); the next run prepares again."""
    site = SiteFactory.create()
    with prepared_cursor() as cursor:
        cursor.execute(SITE_DOMAIN, [site.uuid])
    with pytest.raises(RuntimeError), transaction.atomic():
        with prepared_cursor() as cursor:
            cursor.execute(SITE_DOMAIN, [site.uuid])
        raise RuntimeError("roll back")
    with prepared_cursor() as cursor:
        cursor.execute(SITE_DOMAIN, [site.uuid])
        assert cursor.fetchone() == (site.domain,)
