import pytest


@pytest.fixture
def no_limits(knobs):
    """Every rate limit off; a test turns on the one it is about."""
    knobs.RATE_LIMIT_TOKEN_PER_CLIENT = None
    knobs.RATE_LIMIT_TOKEN_PER_IP = None
    knobs.RATE_LIMIT_INCOMING_API_PER_CLIENT = None
    knobs.RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP = None
    return knobs
