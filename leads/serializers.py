"""Validation of Incoming Leads API bodies (reference §2.1 and §3)."""

import uuid
from typing import Any, TypeVar

from rest_framework import serializers

from core.errors import DomainError

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


def has_unstorable_text(value: Any) -> bool:
    """Whether a JSON value holds text PostgreSQL cannot store: U+0000, or a lone
    surrogate (UTF-8 cannot encode it). DRF's CharField refuses both; DictField does not."""
    if isinstance(value, str):
        return any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(has_unstorable_text(key) or has_unstorable_text(v) for key, v in value.items())
    if isinstance(value, list):
        return any(has_unstorable_text(item) for item in value)
    return False


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
        if has_unstorable_text(value):
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


SerializerT = TypeVar("SerializerT", bound=serializers.BaseSerializer[Any])


def validated(serializer: SerializerT) -> SerializerT:
    """The serializer, validated; otherwise a 422 whose `error` names every problem."""
    if not serializer.is_valid():
        fields = flatten_errors(serializer.errors)
        summary = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        raise DomainError(f"Invalid fields: {summary}", status=422, fields=fields)
    return serializer


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"activities[0].type": ["This field is required."]}."""
    if isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        return {prefix or "body": [str(item) for item in errors]}
    flat: dict[str, list[str]] = {}
    items = errors.items() if isinstance(errors, dict) else enumerate(errors)
    for key, value in items:
        if isinstance(key, int):
            name = f"{prefix}[{key}]"
        elif key == "non_field_errors":
            name = prefix or "body"
        else:
            name = f"{prefix}.{key}" if prefix else key
        if value:
            flat.update(flatten_errors(value, name))
    return flat
