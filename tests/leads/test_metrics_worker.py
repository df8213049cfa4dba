"""Prometheus multiprocess mode end to end: a real `procrastinate worker` delivers to a
real receiver, and the delivery shows on `/metrics` served by a real gunicorn (two
worker processes, gunicorn.conf.py) sharing one PROMETHEUS_MULTIPROC_DIR with it."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from leads.models import Delivery, DeliveryState
from leads.services import lead_create
from subscriptions.services import subscription_put
from tests.leads.worker import BASE_DIR, WORKER_ENV, Workers, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_password_hashing"),
]

TOKEN = "metrics-scrape-token-" + "m" * 32
DELIVERED_LABELS = frozenset({("outcome", "delivered")})
DELIVERED = ("realgeeks_deliveries_total", DELIVERED_LABELS)


class Web:
    """gunicorn on a unix socket, as bin/serve runs it."""

    def __init__(self, process: subprocess.Popen[bytes], socket: Path, log: Path) -> None:
        self.process = process
        self.log = log
        self.client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket)), base_url="http://localhost"
        )

    def get(self, path: str, **headers: str) -> httpx.Response:
        return self.client.get(path, headers=headers)

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
        try:
            return self.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False


@pytest.fixture
def multiproc_dir(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


@pytest.fixture
def web(own_workers: Workers, multiproc_dir: Path, tmp_path: Path) -> Iterator[Web]:
    socket, log = tmp_path / "web.sock", tmp_path / "web.log"
    env = {
        **os.environ,
        **WORKER_ENV,
        "DATABASE_URL": own_workers.database_url,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "METRICS_TOKEN": TOKEN,
        "WEB_WORKERS": "2",
        "WEB_THREADS": "2",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "realgeeks.wsgi",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"unix:{socket}",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Web(process, socket, log)
    try:
        wait_until(server.answers, timeout=60, interval=0.1, message="gunicorn to answer")
        yield server
    finally:
        server.client.close()
        process.terminate()
        process.wait(timeout=30)


def scrape(web: Web) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = web.get("/metrics", Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_a_delivery_by_the_worker_shows_on_the_web_scrape(
    web, own_workers, multiproc_dir, receiver, site, application
):
    own_workers.start(PROMETHEUS_MULTIPROC_DIR=str(multiproc_dir))
    subscription_put(
        site=site, application=application, url=receiver.url("/hook"), secret="partner-secret"
    )

    lead = lead_create(site=site, fields={"source": "Website", "first_name": "Jack"})

    receiver.wait_for(1, "/hook")
    wait_until(
        lambda: Delivery.objects.get(lead=lead).state == DeliveryState.DELIVERED,
        message="the delivery to be recorded",
    )
    samples = wait_until(
        lambda: (lambda found: found if found.get(DELIVERED) == 1 else None)(scrape(web)),
        message="the worker's count on /metrics",
    )
    assert samples[("realgeeks_delivery_latency_seconds_count", DELIVERED_LABELS)] == 1
    assert samples[("realgeeks_deliveries_total", frozenset({("outcome", "failed")}))] == 0
    assert samples[("realgeeks_delivery_queue_depth", frozenset())] == 0


def test_requests_are_counted_once_whichever_web_process_answered(web):
    labels = frozenset({("route", "healthz"), ("method", "GET"), ("status", "200")})
    count = ("realgeeks_http_request_duration_seconds_count", labels)
    before = scrape(web)[count]  # the polls that waited for gunicorn to start

    for _ in range(20):
        assert web.get("/healthz").status_code == 200

    assert scrape(web)[count] == before + 20
