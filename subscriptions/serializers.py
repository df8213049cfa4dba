"""Shapes of the Subscription API, for the OpenAPI schema and responses."""

from typing import Any

from rest_framework import serializers

from .models import Subscription


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
