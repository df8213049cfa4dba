from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone


def add_worker(heartbeat_age: timedelta) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (%s)",
            [timezone.now() - heartbeat_age],
        )


def test_healthz_answers_without_the_database():
    # No django_db mark: any query here would raise instead of answering.
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_with_a_live_worker():
    add_worker(timedelta(seconds=5))

    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_without_a_worker_heartbeat():
    add_worker(timedelta(minutes=10))

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reasons": ["no delivery worker heartbeat in the last 60 s"],
    }
