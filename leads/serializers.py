"""Validation of Incoming Leads API bodies (reference §2.1 and §3)."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, empty, get_error_detail

from core.api import flatten_errors
from core.errors import InvalidFields
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


@dataclass(frozen=True)
class LeadInput:
    """A lead body, validated: the fields it gave, as a partner sent them to POST or PATCH."""

    id: uuid.UUID | None
    contact_fields: dict[str, str]
    activities: list[ActivityData]


class _Activities(serializers.Serializer[Any]):
    """`activities` in a lead body, validated as the nested field it was: the same errors."""

    activities = ActivitySerializer(many=True)


# DRF's fields, made once: validating a value with an unbound field reads only what its
# constructor set, where a Serializer deep-copies every declared field for each request
# (a fifth of a lead create's CPU). In a body's order, which is the order of its errors.
_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "id": LeadIdField(required=False),
    "source": serializers.CharField(max_length=255),
    "source_details": text(10000),
    "email": email_field(),
    "second_email": email_field(),
    "first_name": text(255),
    "last_name": text(255),
    "phone": text(64),
    "phone2": text(64),
    "address": text(500),
    "street_address": text(255),
    "city": text(255),
    "state": text(255),
    "zip": text(32),
    "role": serializers.ChoiceField(choices=INBOUND_ROLES, required=False, allow_blank=True),
    "region": text(255),
    "agent_name": text(255),
    "agent_email": email_field(),
}
# POST .../potential-seller-leads: the endpoint sets the role, so "Potential Seller" (the
# role such a lead is stored and sent with) is accepted in the body too.
_POTENTIAL_SELLER_FIELDS = {
    **_FIELDS,
    "role": serializers.ChoiceField(
        choices=[*INBOUND_ROLES, Role.POTENTIAL_SELLER], required=False, allow_blank=True
    ),
}


def lead_input(
    body: dict[str, Any], *, partial: bool = False, potential_seller: bool = False
) -> LeadInput:
    """The body of POST .../leads (with `partial`, of a PATCH; with `potential_seller`, of
    POST .../potential-seller-leads), validated as a LeadSerializer did; InvalidFields
    naming every problem otherwise."""
    fields = _POTENTIAL_SELLER_FIELDS if potential_seller else _FIELDS
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, field in fields.items():
        if partial and name not in body:
            continue
        try:
            values[name] = field.run_validation(body.get(name, empty))
        except SkipField:  # absent, and not required
            pass
        except serializers.ValidationError as exc:
            errors[name] = exc.detail
        except DjangoValidationError as exc:
            errors[name] = get_error_detail(exc)
    activities: list[ActivityData] = []
    if "activities" in body:
        nested = _Activities(data={"activities": body["activities"]})
        if nested.is_valid():
            activities = activities_of(nested.validated_data["activities"])
        else:
            errors.update(nested.errors)
    if errors:
        raise InvalidFields(flatten_errors(errors))
    lead_id = values.pop("id", None)
    return LeadInput(id=lead_id, contact_fields=values, activities=activities)
