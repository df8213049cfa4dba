"""ratelimits' system check (ratelimits.checks): a malformed rate stops the process at
start rather than silently not limiting."""

import pytest

from ratelimits.checks import check_settings


def test_the_default_rates_pass():
    assert check_settings() == []


@pytest.mark.parametrize("text", ["60", "60/min", "m/60", "-1/m", "60/0s", "1.5/s"])
def test_a_malformed_rate_names_its_variable(knobs, text):
    knobs.RATE_LIMIT_TOKEN_PER_IP = text

    [error] = check_settings()

    assert error.id == "ratelimits.E001"
    assert error.msg.startswith("RATE_LIMIT_TOKEN_PER_IP: must look like 600/m or 100/10s")


@pytest.mark.parametrize("text", ["", "0", "0/m"])
def test_zero_or_empty_disables_a_limit(knobs, text):
    knobs.RATE_LIMIT_TOKEN_PER_IP = text

    assert check_settings() == []
