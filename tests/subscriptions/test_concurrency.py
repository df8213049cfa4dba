"""Concurrent PUTs for one site, with real threads and real PostgreSQL transactions."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from subscriptions.models import Subscription
from tests.factories import ApplicationFactory, SiteFactory, UserFactory, issue_access_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_password_hashing"),
]

WRITERS = 50


def concurrent_puts(path: str, token: str, bodies: list[dict]) -> list[tuple[int, bytes]]:
    """Every body PUT from its own thread, all released at once; (status, content) of each."""
    barrier = threading.Barrier(len(bodies))

    def put(body: dict) -> tuple[int, bytes]:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.put(
                path,
                json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            return response.status_code, response.content
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(put, bodies))


@pytest.fixture
def site_and_token():
    site = SiteFactory.create(owner=UserFactory.create())
    return site, issue_access_token(site=site, application=ApplicationFactory.create())


def bodies_for(site, count: int = WRITERS) -> list[dict]:
    return [
        {"url": f"https://hooks{n}.piesync.test/v1/{site.uuid}", "secret": f"secret-{n}"}
        for n in range(count)
    ]


def test_concurrent_puts_all_succeed_and_leave_one_row_with_one_writers_values(site_and_token):
    site, token = site_and_token
    bodies = bodies_for(site)

    answers = concurrent_puts(f"/piesync/subscription/{site.uuid}/", token, bodies)

    assert [status for status, _ in answers] == [200] * WRITERS
    assert [json.loads(content) for _, content in answers] == bodies
    [row] = Subscription.objects.filter(site=site)
    assert {"url": row.url, "secret": row.secret} in bodies


def test_concurrent_puts_keep_an_existing_rows_identity(site_and_token):
    site, token = site_and_token
    path = f"/piesync/subscription/{site.uuid}/"
    first = Client().put(
        path,
        json.dumps({"url": "https://first.piesync.test/", "secret": "first"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert first.status_code == 200
    original = Subscription.objects.get(site=site)

    answers = concurrent_puts(path, token, bodies_for(site))

    assert {status for status, _ in answers} == {200}
    [row] = Subscription.objects.filter(site=site)
    assert row.pk == original.pk
    assert row.created == original.created
    assert row.updated > original.updated


def test_the_last_committed_put_wins(site_and_token):
    """Sequential rounds of racing writers: whatever raced, a later round always wins."""
    site, token = site_and_token
    path = f"/piesync/subscription/{site.uuid}/"

    for round_number in range(3):
        bodies = [
            {"url": f"https://r{round_number}-{n}.piesync.test/", "secret": f"r{round_number}"}
            for n in range(10)
        ]
        answers = concurrent_puts(path, token, bodies)
        assert {status for status, _ in answers} == {200}
        row = Subscription.objects.get(site=site)
        assert row.secret == f"r{round_number}"
        assert {"url": row.url, "secret": row.secret} in bodies
