"""Webhook delivery against the loopback receiver: commit → receipt latency, one
worker's deliveries/s, and the raw POST rate of the worker's HTTP client."""

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateWorker

from leads.delivery.http import new_http_client, sign
from leads.models import Delivery, DeliveryBacklog, DeliveryState, LeadEvent
from leads.services import lead_create

from . import config, stack
from .cpu import Meter, Usage
from .fixtures import Bench

RECEIVER = f"http://127.0.0.1:{config.RECEIVER_PORT}"
LEAD_FIELDS = {"source": "bench", "first_name": "Ann", "email": "ann@example.com"}


@dataclass
class Latency:
    delivered: int
    sent: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class Rate:
    count: int
    seconds: float
    cpu: Usage

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def receiver_reset() -> None:
    httpx.post(f"{RECEIVER}/reset", timeout=5).raise_for_status()


def receiver_stats() -> dict[str, Any]:
    response = httpx.get(f"{RECEIVER}/stats", timeout=30)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@transaction.atomic
def queue_clear() -> None:
    """No delivery left over from an earlier measurement, none counted in a backlog."""
    Delivery.objects.filter(state=DeliveryState.PENDING).update(state=DeliveryState.CANCELLED)
    DeliveryBacklog.objects.update(pending=0)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")


def worker_ready() -> bool:
    return ProcrastinateWorker.objects.exists()


def latency(bench: Bench, *, log_dir: Path, count: int) -> Latency:
    """Leads created one at a time, as a steady trickle, each timed from its commit to
    its arrival at the receiver."""
    queue_clear()
    receiver_reset()
    committed: dict[str, float] = {}
    with stack.worker(log_dir, ready=worker_ready):
        for _ in range(count):
            lead = lead_create(site=bench.site, fields=LEAD_FIELDS)  # commits on return
            committed[lead.id.hex] = time.time()
            time.sleep(0.02)
        stack.wait_until(lambda: len(receiver_stats()["arrivals"]) >= count, 60, interval=0.5)
        arrivals = receiver_stats()["arrivals"]
    latencies = [(arrivals[key] - at) * 1000 for key, at in committed.items() if key in arrivals]
    return Latency(
        delivered=len(latencies),
        sent=count,
        p50_ms=statistics.median(latencies),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies),
    )


def throughput(bench: Bench, *, log_dir: Path, count: int) -> Rate:
    """`count` deliveries queued first, then one worker started: deliveries/s from the
    first arrival to the last (the worker's start-up is not counted)."""
    queue_clear()
    for start in range(0, count, 500):
        with transaction.atomic():
            for _ in range(min(500, count - start)):
                lead_create(site=bench.site, fields=LEAD_FIELDS)
    # What autovacuum does within a minute of such a burst (leads migration 0003).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE procrastinate_jobs")
    receiver_reset()
    with stack.worker(log_dir, ready=worker_ready) as worker:
        stack.wait_until(lambda: receiver_stats()["count"] > 0, 60, interval=0.05)
        meter = Meter(server_pids=[worker.pid], database=config.DATABASE_NAME)
        stack.wait_until(lambda: receiver_stats()["count"] >= count, 600, interval=0.2)
        cpu = meter.usage()
        stats = receiver_stats()
    if stats["count"] < count:
        raise SystemExit(f"The worker delivered {stats['count']} of {count} in 10 minutes.")
    return Rate(count=stats["count"], seconds=stats["last"] - stats["first"], cpu=cpu)


def raw_post_rate(*, count: int, concurrency: int, receiver_pid: int) -> Rate:
    """The worker's HTTP client (leads.delivery.http.new_http_client: httpx's async client)
    POSTing a real delivery body to the same receiver, `concurrency` at once, and nothing
    else: the ceiling for deliveries/s on this machine."""
    event = LeadEvent.objects.order_by("-created").first()
    assert event is not None
    body = bytes(event.body)
    headers = {
        "Content-Type": "application/json",
        "X-Lead-Router-Action": event.action,
        "X-Lead-Router-Signature": sign(body, config.SUBSCRIPTION_SECRET),
        "X-Lead-Router-Timestamp": "2026-01-01T00:00:00.000000Z",
        "X-Lead-Router-Message-Id": event.id.hex,
    }

    async def post_all() -> None:
        remaining = iter(range(count))
        async with new_http_client() as client:

            async def post_until_done() -> None:
                for _ in remaining:  # shared: each request is taken once
                    response = await client.post(f"{RECEIVER}/hook", content=body, headers=headers)
                    response.raise_for_status()

            await asyncio.gather(*(post_until_done() for _ in range(concurrency)))

    receiver_reset()
    meter = Meter(server_pids=[receiver_pid], database=config.DATABASE_NAME)
    started = time.monotonic()
    asyncio.run(post_all())
    seconds = time.monotonic() - started
    return Rate(count=count, seconds=seconds, cpu=meter.usage())
