"""Shapes of the Subscription API, for the OpenAPI schema and responses."""

from typing import Any

from rest_framework import serializers

from .models import DEACTIVATED_BY_410, DEACTIVATED_BY_STAFF, Subscription


class SubscriptionSerializer(serializers.Serializer[Subscription]):
    url = serializers.URLField(
        max_length=2048,
        help_text=(
            "The endpoint that receives `created` and `updated` requests: an absolute http or "
            "https URL without a fragment or credentials, whose host (a DNS name, international "
            "names included, or an IP address) is a public internet address."
        ),
    )
    secret = serializers.CharField(
        max_length=255, help_text="Signs every request (HMAC-SHA256 of the body)."
    )


class SubscriptionStateSerializer(SubscriptionSerializer):
    """The answer to GET and PUT: the contract's `url` and `secret`, and, only while
    deliveries are stopped, that it is inactive, since when and why (the published shape
    is unchanged for an active subscription)."""

    active = serializers.BooleanField(
        required=False,
        help_text="Present, and false, only while nothing is delivered; a PUT reactivates.",
    )
    deactivated_at = serializers.DateTimeField(
        required=False, help_text="When it was deactivated (RFC 3339, UTC)."
    )
    deactivated_reason = serializers.CharField(
        required=False,
        help_text=f'Why: "{DEACTIVATED_BY_410}" or "{DEACTIVATED_BY_STAFF}".',
    )

    def to_representation(self, instance: Subscription) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if instance.active:
            for name in ("active", "deactivated_at", "deactivated_reason"):
                del data[name]
        return data


class ErrorSerializer(serializers.Serializer[Any]):
    error = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer[Any]):
    error = serializers.CharField(help_text='Always "Invalid fields".')
    # Shadows Serializer.fields for the type checker only: DRF's metaclass moves declared
    # fields off the class.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="For each invalid field, what is wrong with it.",
    )
