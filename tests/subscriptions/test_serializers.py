"""subscriptions.serializers beyond what the API tests reach: the GET answer built
without a serializer, and the PUT serializer's fields, shared by none."""

from datetime import UTC, datetime

from rest_framework import serializers

from subscriptions.crypto import encrypt_secret
from subscriptions.selectors import SubscriptionState
from subscriptions.serializers import SubscriptionSerializer, subscription_state

URL = "https://api.piesync.test/hook"


def state(**fields) -> SubscriptionState:
    row = {
        "pk": 1,
        "url": URL,
        "secret_encrypted": encrypt_secret("s3cret"),
        "active": True,
        "deactivated_at": None,
        "deactivated_reason": "",
    }
    return SubscriptionState(**{**row, **fields})


def test_an_active_subscription_is_its_url_and_secret():
    assert subscription_state(state()) == {"url": URL, "secret": "s3cret"}


def test_an_inactive_subscription_says_since_when_as_drf_formats_a_datetime():
    at = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)

    answer = subscription_state(state(active=False, deactivated_at=at, deactivated_reason="Gone"))

    assert answer == {
        "url": URL,
        "secret": "s3cret",
        "active": False,
        "deactivated_at": serializers.DateTimeField().to_representation(at),
        "deactivated_reason": "Gone",
    }
    assert answer["deactivated_at"] == "2025-03-04T05:06:07.891011Z"


def test_an_inactive_subscription_without_a_time_says_null():
    answer = subscription_state(state(active=False))

    assert (answer["active"], answer["deactivated_at"]) == (False, None)


def test_each_serializer_binds_its_own_fields_and_leaves_the_declared_ones_alone():
    first, second = SubscriptionSerializer(), SubscriptionSerializer()

    assert first.fields["url"] is not second.fields["url"]
    assert first.fields["url"].parent is first
    assert SubscriptionSerializer._declared_fields["url"].parent is None
