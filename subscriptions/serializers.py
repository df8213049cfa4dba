"""Shapes of the Subscription API: what a PUT must be, what is answered, and the
OpenAPI schema."""

import copy
from collections.abc import Callable, Sequence
from typing import Any

from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.fields import empty

from core.text import is_storable_text

from .crypto import decrypt_secret
from .models import DEACTIVATED_BY_410, DEACTIVATED_BY_STAFF, MAX_SECRET_LENGTH, Subscription
from .selectors import SubscriptionState
from .url_policy import MAX_URL_LENGTH, UnsafeURL, check_webhook_url

Rule = Callable[[Any], None]


class ContractString(serializers.CharField):
    """A string as the contract checks one: a JSON string (no number is taken for its
    digits), not blank (whitespace only is blank), kept exactly as sent, within its
    `max_length`, then its `rules`; the first problem found is its one message.

    DRF's own checks for NUL and surrogates are left out: the rules say it in the
    contract's words.
    """

    default_error_messages = {
        "null": "This field is required.",
        "invalid": "Must be a string.",
        "blank": "This field cannot be blank.",
    }

    def __init__(self, *, rules: Sequence[Rule], **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)
        lengths = [v for v in self.validators if isinstance(v, MaxLengthValidator)]
        self.checks: list[Rule] = [*lengths, *rules]
        self.validators = list(self.checks)

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str) and not data.strip():
            self.fail("blank")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def run_validators(self, value: Any) -> None:
        for check in self.checks:
            check(value)


class ContractURL(ContractString, serializers.URLField):
    """A URL (so documented), checked by its rules alone: not Django's URL validator."""


def webhook_url(value: str) -> None:
    try:
        check_webhook_url(value)
    except UnsafeURL as exc:
        raise serializers.ValidationError(str(exc)) from exc


def unicode_text(value: str) -> None:
    if not is_storable_text(value):  # NUL refused before: a lone surrogate
        raise serializers.ValidationError("Enter valid Unicode text.")


# A PUT's body; unknown fields are ignored. (A docstring would be its schema description.)
class SubscriptionSerializer(serializers.Serializer[Subscription]):
    url = ContractURL(
        max_length=MAX_URL_LENGTH,
        rules=[webhook_url],
        help_text=(
            "The endpoint that receives `created` and `updated` requests: an absolute http or "
            "https URL without a fragment or credentials, whose host (a DNS name, international "
            "names included, or an IP address) is a public internet address."
        ),
    )
    secret = ContractString(
        max_length=MAX_SECRET_LENGTH,
        rules=[ProhibitNullCharactersValidator(), unicode_text],
        help_text="Signs every request (HMAC-SHA256 of the body).",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        """The declared fields, copied shallowly: DRF deep-copies them for every
        serializer, re-creating each with its validators (half the cost of validating a
        PUT, measured). They keep no state of their own from one request to the next."""
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class SubscriptionStateSerializer(SubscriptionSerializer):
    """The answer to GET and PUT: the contract's `url` and `secret`, and, only while
    deliveries are stopped, that it is inactive, since when and why (the published shape
    is unchanged for an active subscription).

    The schema's; the views answer with `subscription_state()`, a plain dict.
    """

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


# Formats `deactivated_at` as the schema's field does (DRF's ISO 8601, "Z" for UTC).
_DATETIME = serializers.DateTimeField()


def subscription_state(subscription: SubscriptionState) -> dict[str, Any]:
    """A GET's answer, as SubscriptionStateSerializer documents it, without a serializer
    (one deep-copies its fields each time). Decrypts the secret: SecretUnreadable (a
    JSON 500) when no key opens it."""
    state: dict[str, Any] = {
        "url": subscription.url,
        "secret": decrypt_secret(subscription.secret_encrypted, subscription_id=subscription.pk),
    }
    if not subscription.active:
        state["active"] = False
        at = subscription.deactivated_at
        state["deactivated_at"] = None if at is None else _DATETIME.to_representation(at)
        state["deactivated_reason"] = subscription.deactivated_reason
    return state


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
