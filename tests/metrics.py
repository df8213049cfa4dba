"""Scraping `/metrics` through Django's test client and parsing it as Prometheus does:
shared by the metric tests of each app (tests/<app>/test_metrics.py).

Counters live for the whole test process, so tests compare a value before and after.
"""

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

METRICS = "/metrics"
REQUESTS = "realgeeks_http_request_duration_seconds_count"
TOKENS = "realgeeks_oauth_tokens_issued_total"
DELIVERIES = "realgeeks_deliveries_total"
DELIVERY_LATENCY = "realgeeks_delivery_latency_seconds_count"
QUEUE_DEPTH = "realgeeks_delivery_queue_depth"
OLDEST_AGE = "realgeeks_delivery_oldest_pending_age_seconds"


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape_text() -> str:
    response = Client().get(METRICS)
    assert response.status_code == 200, response.content
    return response.content.decode()


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape() -> Samples:
    return parse(scrape_text())


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a label set not seen yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)
