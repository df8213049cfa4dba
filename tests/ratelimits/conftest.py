import pytest


@pytest.fixture
def no_limits(settings):
    """Every rate limit off; a test turns on the one it is about."""
    settings.RATE_LIMIT_TOKEN_PER_CLIENT = None
    settings.RATE_LIMIT_TOKEN_PER_IP = None
    settings.RATE_LIMIT_INCOMING_API_PER_CLIENT = None
    settings.RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP = None
    return settings
