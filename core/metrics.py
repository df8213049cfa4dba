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
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .conf import app_settings

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
        if not app_settings.METRICS_ENABLED:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(request, response.status_code, time.perf_counter() - started)
        return response


# ---------------------------------------------------------------------------
# Scraping


def _scrape_registry() -> CollectorRegistry:
    if MULTIPROC_DIR is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=MULTIPROC_DIR)  # type: ignore[no-untyped-call]
    return registry


# What a scrape reads: this process's registry, or the merged files of every process.
SCRAPE_REGISTRY = _scrape_registry()


def register_scrape_collector(collector: Collector) -> None:
    """Adds a collector that reads its values when scraped (from the database, say), so
    that it answers once per scrape in either mode, not once per process."""
    SCRAPE_REGISTRY.register(collector)


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
    if not app_settings.METRICS_ENABLED:
        return JsonResponse({"error": "Not Found"}, status=404)
    response: HttpResponse
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"error": "Method Not Allowed"}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    token = app_settings.METRICS_TOKEN
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
