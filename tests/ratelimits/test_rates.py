"""Rates as written in the environment (ratelimits.rates)."""

import pytest

from ratelimits.rates import Rate, parse_rate


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("60/m", Rate(limit=60, seconds=60)),
        ("5/s", Rate(limit=5, seconds=1)),
        ("1000/h", Rate(limit=1000, seconds=3600)),
        ("20000/d", Rate(limit=20000, seconds=86400)),
        ("100/10s", Rate(limit=100, seconds=10)),
        (" 30 / 5m ", Rate(limit=30, seconds=300)),
    ],
)
def test_a_rate_is_a_count_per_period(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "0", "0/m"])
def test_zero_or_empty_disables_the_limit(text):
    assert parse_rate(text) is None


@pytest.mark.parametrize("text", ["60", "60/min", "m/60", "-1/m", "60/0s", "1.5/s"])
def test_a_malformed_rate_is_refused(text):
    with pytest.raises(ValueError, match="must look like 600/m or 100/10s"):
        parse_rate(text)
