"""`realgeeks_delivery_worker_heartbeat_age_seconds`: read from procrastinate's worker rows
at scrape time, scraped through Django's test client and parsed as Prometheus does."""

import math
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

HEARTBEAT_AGE = "realgeeks_delivery_worker_heartbeat_age_seconds"


def scrape() -> dict[str, float]:
    """The unlabelled samples of a scrape, by name."""
    response = Client().get("/metrics")
    assert response.status_code == 200, response.content
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if not sample.labels
    }


def forget_workers() -> None:
    """Rows left by other tests' workers (undone with the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_workers")


def add_worker(heartbeat_age: timedelta) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (%s)",
            [timezone.now() - heartbeat_age],
        )


@pytest.mark.django_db
def test_without_a_registered_worker_the_age_is_infinite():
    forget_workers()

    assert scrape()[HEARTBEAT_AGE] == math.inf


@pytest.mark.django_db
def test_the_age_is_that_of_the_newest_heartbeat():
    forget_workers()
    add_worker(timedelta(minutes=30))  # a killed worker's row, not pruned yet
    add_worker(timedelta(minutes=5))

    age = scrape()[HEARTBEAT_AGE]

    assert 300 <= age < 360


@pytest.mark.django_db
def test_a_heartbeat_from_a_clock_ahead_reads_zero_not_negative():
    forget_workers()
    add_worker(-timedelta(minutes=1))

    assert scrape()[HEARTBEAT_AGE] == 0


@pytest.mark.django_db
def test_without_the_workers_table_the_scrape_answers_without_the_gauge(caplog):
    """A database error leaves the gauge out, logged; the other metrics answer.
    (The rename is undone with the test's transaction.)"""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE procrastinate_workers RENAME TO workers_elsewhere")

    samples = scrape()

    assert HEARTBEAT_AGE not in samples
    assert "realgeeks_delivery_queue_depth" in samples
    assert "metrics: worker heartbeat not read: ProgrammingError" in caplog.text


def test_a_running_worker_keeps_the_age_within_its_heartbeat_interval_until_it_stops(
    own_workers,
):
    """A real `procrastinate worker` (heartbeat every second): fresh while it runs; +Inf
    once it stopped, since a worker deletes its row on the way out."""
    own_workers.clear_queue()
    running = own_workers.start(WORKER_HEARTBEAT_INTERVAL="1")

    # Sampled over a few heartbeats: never older than the interval and some slack.
    for _ in range(5):
        assert scrape()[HEARTBEAT_AGE] < 3
        time.sleep(0.5)

    running.stop()

    assert scrape()[HEARTBEAT_AGE] == math.inf
