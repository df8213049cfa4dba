"""oauth_provider.presenters: what the connected-apps page says, as plain values."""

from datetime import UTC, datetime, timedelta, timezone

from oauth_provider.health import ConnectionHealth, DeliveryStatus
from oauth_provider.presenters import breakable_domain, describe_health, utc_minute


def test_a_domain_may_wrap_after_each_dot():
    assert breakable_domain("www.example.com") == "www.<wbr>example.<wbr>com"


def test_a_domain_is_escaped_and_only_the_hints_are_markup():
    assert breakable_domain('a<b>"c.d&e') == "a&lt;b&gt;&quot;c.<wbr>d&amp;e"


def test_times_are_shown_in_utc_to_the_minute():
    hawaii = timezone(timedelta(hours=-10))

    assert utc_minute(datetime(2026, 3, 4, 20, 5, 59, tzinfo=hawaii)) == "Mar 5, 2026, 06:05 UTC"
    assert utc_minute(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "Dec 31, 2026, 23:59 UTC"


def test_one_failure_is_one_lead():
    health = ConnectionHealth(status=DeliveryStatus.ACTIVE, recent_failures=1)

    assert describe_health(health, "PieSync")["advice"].startswith(
        "PieSync did not accept 1 lead in the last 24 hours."
    )


def test_a_paused_subscription_without_a_date_says_paused():
    health = ConnectionHealth(status=DeliveryStatus.PAUSED_GONE)

    assert describe_health(health, "PieSync")["advice"].startswith("Paused: PieSync answered")


def test_nothing_is_counted_before_the_application_is_set_up():
    health = describe_health(ConnectionHealth(status=DeliveryStatus.NOT_SET_UP), "PieSync")

    assert (health["status"], health["label"], health["facts"]) == ("none", "Not set up", False)
