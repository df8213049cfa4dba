"""Delivery metrics, exposed on `/metrics` through core's registry: counters the worker
and the services record, and the queue and worker gauges read from the database at
scrape time."""

import logging
import math
from collections.abc import Iterable

from django.db import DatabaseError, transaction
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from core.metrics import REGISTRY, register_scrape_collector

from .models import DeliveryState
from .rollups import LATENCY_BOUNDS
from .selectors import delivery_queue_stats, newest_worker_heartbeat_age

logger = logging.getLogger(__name__)

DELIVERIES = Counter(
    "realgeeks_deliveries",
    "Webhook deliveries finished (delivered, ignored, failed, cancelled), attempts to be "
    "retried (retried), and deliveries put back without an attempt (deferred).",
    ["outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "realgeeks_delivery_latency_seconds",
    "From the commit that made a delivery to the partner's answer that finished it.",
    ["outcome"],
    # The delivery health page's buckets too.
    buckets=LATENCY_BOUNDS,
    registry=REGISTRY,
)

RETRIED = "retried"
DEFERRED = "deferred"
OUTCOMES = (
    *(state.value for state in DeliveryState if state != DeliveryState.PENDING),
    RETRIED,
    DEFERRED,
)
# Finished by an answer: the outcomes the latency histogram has.
ANSWERED_OUTCOMES = (DeliveryState.DELIVERED, DeliveryState.IGNORED, DeliveryState.FAILED)

# Every label value shows from the start (as 0), so rate() sees the first event.
for _outcome in OUTCOMES:
    DELIVERIES.labels(_outcome)


def count_deliveries(outcome: str, count: int = 1, *, latency: float | None = None) -> None:
    """`count` deliveries reached `outcome`; `latency` is seconds from commit to answer.

    For the delivery worker, which writes on its own autocommit connections.
    """
    outcome = str(outcome)  # a DeliveryState's value
    DELIVERIES.labels(outcome).inc(count)
    if latency is not None and outcome in ANSWERED_OUTCOMES:
        DELIVERY_LATENCY.labels(outcome).observe(max(0.0, latency))


def count_deliveries_on_commit(outcome: str, count: int) -> None:
    """The same from inside a Django transaction: counted if and when it commits."""
    if count > 0:
        transaction.on_commit(lambda: count_deliveries(outcome, count))


QUEUE_DEPTH = "realgeeks_delivery_queue_depth"
OLDEST_PENDING_AGE = "realgeeks_delivery_oldest_pending_age_seconds"


class DeliveryQueueCollector:
    """Queue depth and the oldest pending delivery's age, read from the database at
    scrape time (one aggregate query), so every web instance reports the same truth."""

    def describe(self) -> Iterable[Metric]:
        # Lets the registry learn the names without a query.
        return [self._depth(), self._age()]

    def collect(self) -> Iterable[Metric]:
        try:
            stats = delivery_queue_stats()
        except DatabaseError as exc:
            # The other metrics still answer; the gap in these says the database did not.
            logger.warning("metrics: delivery queue not read: %s", type(exc).__name__)
            return []
        age = 0.0
        if stats.oldest_created is not None:
            age = max(0.0, (timezone.now() - stats.oldest_created).total_seconds())
        depth, oldest = self._depth(), self._age()
        depth.add_metric([], stats.pending)
        oldest.add_metric([], age)
        return [depth, oldest]

    @staticmethod
    def _depth() -> GaugeMetricFamily:
        return GaugeMetricFamily(QUEUE_DEPTH, "Pending webhook deliveries, retries included.")

    @staticmethod
    def _age() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            OLDEST_PENDING_AGE, "Seconds since the oldest pending delivery was committed (0: none)."
        )


register_scrape_collector(DeliveryQueueCollector())


WORKER_HEARTBEAT_AGE = "realgeeks_delivery_worker_heartbeat_age_seconds"


class DeliveryWorkerCollector:
    """Seconds since the newest delivery worker heartbeat, read from the database at scrape
    time like the queue gauges. With no worker registered (all stopped, or none started)
    it is +Inf: no heartbeat is infinitely old, and a `> threshold` alert fires."""

    def describe(self) -> Iterable[Metric]:
        return [self._age()]

    def collect(self) -> Iterable[Metric]:
        try:
            age = newest_worker_heartbeat_age()
        except DatabaseError as exc:
            logger.warning("metrics: worker heartbeat not read: %s", type(exc).__name__)
            return []
        gauge = self._age()
        gauge.add_metric([], math.inf if age is None else max(0.0, age.total_seconds()))
        return [gauge]

    @staticmethod
    def _age() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            WORKER_HEARTBEAT_AGE,
            "Seconds since the newest delivery worker heartbeat (+Inf: no worker registered).",
        )


register_scrape_collector(DeliveryWorkerCollector())
