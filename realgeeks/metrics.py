"""Prometheus metrics and the `/metrics` endpoint.

The web runs as several gunicorn worker processes and deliveries happen in the
separate `procrastinate worker` process. With `PROMETHEUS_MULTIPROC_DIR` set, every
process writes its samples to files there and a scrape merges them (prometheus_client's
multiprocess mode); without it, a scrape sees the answering process alone.
"""

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from leads.models import DeliveryState
from leads.selectors import delivery_queue_stats

logger = logging.getLogger(__name__)

# prometheus_client itself switches on the variable's presence, at import.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MULTIPROC_DIR is not None and not os.path.isdir(MULTIPROC_DIR):
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR={MULTIPROC_DIR!r} is not a directory; create it (empty) "
        "before starting the web and worker processes, or unset it."
    )

# No `_created` series: multiprocess mode has none, and both modes should read the same.
disable_created_metrics()  # type: ignore[no-untyped-call]

# This service's metrics only: the default registry's process and GC collectors do not
# work in multiprocess mode, so a scrape would show them in one mode and not the other.
REGISTRY = CollectorRegistry()

REQUEST_LATENCY = Histogram(
    "realgeeks_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (URL pattern name), method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
TOKENS_ISSUED = Counter(
    "realgeeks_oauth_tokens_issued",
    "Access tokens issued by the token endpoint, by grant type.",
    ["grant_type"],
    registry=REGISTRY,
)
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
    # Up to the retry schedule's three days.
    buckets=(
        *(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
        *(300.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0),
    ),
    registry=REGISTRY,
)

GRANT_TYPES = ("authorization_code", "refresh_token")
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
for _grant_type in GRANT_TYPES:
    TOKENS_ISSUED.labels(_grant_type)
for _outcome in OUTCOMES:
    DELIVERIES.labels(_outcome)


# ---------------------------------------------------------------------------
# Recording


def count_token_issued(sender: object, request: HttpRequest, **kwargs: Any) -> None:
    """django-oauth-toolkit's `app_authorized` receiver: it fires once per 200 from the
    token endpoint, inside its transaction, so the count waits for the commit."""
    grant_type = request.POST.get("grant_type", "")
    label = grant_type if grant_type in GRANT_TYPES else "other"
    transaction.on_commit(TOKENS_ISSUED.labels(label).inc)


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


UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_children: dict[tuple[str, str, int], Histogram] = {}


def observe_request(request: HttpRequest, status: int, seconds: float) -> None:
    # The URL pattern's name, never the path: a label value per UUID would be unbounded.
    match = request.resolver_match
    route = match.view_name if match is not None else UNMATCHED_ROUTE
    method = request.method if request.method in _METHODS else None
    key = (route, method or "other", status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_LATENCY.labels(*key)
    child.observe(seconds)


class RequestMetricsMiddleware:
    """Request latency by route and status; first in MIDDLEWARE, so it covers the others.

    Absent when metrics are off (METRICS_ENABLED), so it then costs nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.METRICS_ENABLED:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(request, response.status_code, time.perf_counter() - started)
        return response


# ---------------------------------------------------------------------------
# Scraping


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


def _scrape_registry() -> CollectorRegistry:
    if MULTIPROC_DIR is None:
        REGISTRY.register(DeliveryQueueCollector())
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=MULTIPROC_DIR)  # type: ignore[no-untyped-call]
    registry.register(DeliveryQueueCollector())
    return registry


SCRAPE_REGISTRY = _scrape_registry()

CHALLENGE = 'Bearer realm="metrics"'


def _bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    # RFC 7235 §2.1: the scheme is case-insensitive.
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(offered.strip().encode(), expected.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus scrape: 404 when metrics are off, 401 without the right
    METRICS_TOKEN (when one is set), else the text exposition."""
    if not settings.METRICS_ENABLED:
        return JsonResponse({"error": "Not Found"}, status=404)
    response: HttpResponse
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"error": "Method Not Allowed"}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    token = settings.METRICS_TOKEN
    if token:
        if "Authorization" not in request.headers:
            response = JsonResponse({"error": "Missing metrics token"}, status=401)
            response["WWW-Authenticate"] = CHALLENGE
            return response
        if not _bearer_token_matches(request, token):
            response = JsonResponse({"error": "Invalid metrics token"}, status=401)
            # RFC 6750 §3
            response["WWW-Authenticate"] = f'{CHALLENGE}, error="invalid_token"'
            return response
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = HttpResponse(encoder(SCRAPE_REGISTRY), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
