"""Helpers for the rate-limit tests."""

import math
import time

from ratelimits.rates import Rate


def per_hour(limit: int) -> Rate:
    """Small limits in hour-long windows, so that no window ends during a test."""
    return Rate(limit=limit, seconds=3600)


def at_window_start(seconds: int) -> None:
    """Sleep until just after a window of `seconds` starts, so that the next requests
    fall in one window."""
    now = time.time()
    time.sleep(math.ceil(now / seconds) * seconds - now + 0.05)


def assert_too_many_requests(response, *, at_most: int) -> int:
    """A 429 as documented; returns its Retry-After."""
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= at_most
    assert response.json() == {
        "error": f"Request was throttled. Expected available in {retry_after} seconds."
    }
    return retry_after


def assert_oauth_too_many_requests(response, *, at_most: int) -> int:
    """A 429 in the OAuth endpoints' error format (RFC 6749 §5.2); returns its Retry-After."""
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= at_most
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": f"Request was throttled. Expected available in {retry_after} seconds.",
    }
    return retry_after
