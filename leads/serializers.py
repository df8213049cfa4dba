"""Validation of Incoming Leads API bodies (reference §2.1 and §3)."""

import uuid
from typing import Any

from rest_framework import serializers

from core.text import holds_unstorable_text

from .models import Role
from .services import ActivityData

INBOUND_ROLES = [Role.BUYER, Role.SELLER, Role.BUYER_AND_SELLER, Role.RENTER]


class LeadIdField(serializers.Field[uuid.UUID, Any, str, Any]):
    """A UUID, with or without dashes (outgoing ids are 32 hex characters)."""

    default_error_messages = {"invalid": "Must be a valid UUID."}

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return uuid.UUID(data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value: uuid.UUID) -> str:
        return value.hex


def email_field(**kwargs: Any) -> serializers.EmailField:
    # The column holds 254 characters (RFC 5321); the validator alone allows up to 320.
    return serializers.EmailField(max_length=254, required=False, allow_blank=True, **kwargs)


def text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, trim_whitespace=True, **kwargs
    )


class ActivitySerializer(serializers.Serializer[Any]):
    type = serializers.CharField(max_length=64)
    # Shadows Field.source for the type checker only: DRF's metaclass moves declared
    # fields off the class.
    source = serializers.CharField(max_length=255)  # type: ignore[assignment]
    description = serializers.CharField(max_length=10000)
    property = serializers.DictField(required=False, allow_null=True)
    created = serializers.DateTimeField(required=False)

    def validate_property(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # DRF's CharField refuses NUL and lone surrogates; DictField does not.
        if holds_unstorable_text(value):
            raise serializers.ValidationError("Null or surrogate characters are not allowed.")
        return value


def activities_of(validated_items: list[dict[str, Any]]) -> list[ActivityData]:
    return [ActivityData(**item) for item in validated_items]


class LeadSerializer(serializers.Serializer[Any]):
    """A lead as sent to POST .../leads; with `partial=True`, a PATCH."""

    id = LeadIdField(required=False)
    source = serializers.CharField(max_length=255)  # type: ignore[assignment]  # as above
    source_details = text(10000)
    email = email_field()
    second_email = email_field()
    first_name = text(255)
    last_name = text(255)
    phone = text(64)
    phone2 = text(64)
    address = text(500)
    street_address = text(255)
    city = text(255)
    state = text(255)
    zip = text(32)
    role = serializers.ChoiceField(choices=INBOUND_ROLES, required=False, allow_blank=True)
    region = text(255)
    agent_name = text(255)
    agent_email = email_field()
    activities = ActivitySerializer(many=True, required=False)

    def contact_fields(self) -> dict[str, str]:
        return {
            name: value
            for name, value in self.validated_data.items()
            if name not in ("id", "activities")
        }

    def activities_data(self) -> list[ActivityData]:
        return activities_of(self.validated_data.get("activities", []))


class PotentialSellerLeadSerializer(LeadSerializer):
    """POST .../potential-seller-leads: the endpoint sets the role, so "Potential Seller"
    (the role such a lead is stored and sent with) is accepted in the body too."""

    role = serializers.ChoiceField(
        choices=[*INBOUND_ROLES, Role.POTENTIAL_SELLER], required=False, allow_blank=True
    )
