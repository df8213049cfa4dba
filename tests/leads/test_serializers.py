"""A lead body's validation (leads.serializers.lead_input) answers exactly what the
LeadSerializer it replaced answered, declared here as it was: the same values, and the
same messages for the same fields in the same order, whatever the body."""

import uuid
from typing import Any

import pytest
from rest_framework import serializers

from core.api import flatten_errors
from core.errors import InvalidFields
from leads.models import Role
from leads.serializers import (
    INBOUND_ROLES,
    ActivitySerializer,
    LeadIdField,
    activities_of,
    email_field,
    lead_input,
    text,
)
from tests.leads.samples import ACTIVITY, LEAD


class LeadSerializer(serializers.Serializer[Any]):
    id = LeadIdField(required=False)
    source = serializers.CharField(max_length=255)  # type: ignore[assignment]  # as in leads
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


class PotentialSellerLeadSerializer(LeadSerializer):
    role = serializers.ChoiceField(
        choices=[*INBOUND_ROLES, Role.POTENTIAL_SELLER], required=False, allow_blank=True
    )


def as_before(body: dict[str, Any], *, partial: bool, potential_seller: bool) -> Any:
    kind = PotentialSellerLeadSerializer if potential_seller else LeadSerializer
    serializer = kind(data=body, partial=partial)
    if not serializer.is_valid():
        return flatten_errors(serializer.errors)
    values = dict(serializer.validated_data)
    activities = activities_of(values.pop("activities", []))
    return values.pop("id", None), values, activities


def as_now(body: dict[str, Any], *, partial: bool, potential_seller: bool) -> Any:
    try:
        lead = lead_input(body, partial=partial, potential_seller=potential_seller)
    except InvalidFields as exc:
        return exc.extra["fields"]
    return lead.id, lead.contact_fields, lead.activities


LONG = "x" * 256
VALUES: list[Any] = [
    "",
    "  ",
    " Ada ",
    "Ada\x00",
    "lone \udc80",
    LONG,
    "y" * 10001,
    0,
    12.5,
    True,
    None,
    [],
    ["a"],
    {},
    {"a": 1},
]
EMAILS: list[Any] = [
    "ada@example.com",
    " ada@example.com ",
    "not-an-email",
    "a" * 250 + "@example.com",
    "a" * 250 + "@example",
    "ada@exa\x00mple.com",
]
IDS: list[Any] = [uuid.uuid4().hex, str(uuid.uuid4()), str(uuid.uuid4()).upper(), "nope", ""]
ROLES: list[Any] = [*Role.values, "buyer", "Buyer ", "", None, 1, ["Buyer"]]
ACTIVITIES: list[Any] = [
    [ACTIVITY],
    [ACTIVITY, {**ACTIVITY, "created": "2015-10-01T06:14:01Z", "property": {"a": [1]}}],
    [{"type": "x"}, ACTIVITY, "nope", {**ACTIVITY, "property": {"\x00": 1}}],
    [{**ACTIVITY, "created": "yesterday", "property": "x"}],
    [],
    {},
    "nope",
    None,
]

BODIES: list[dict[str, Any]] = [
    LEAD,
    {},
    {"first_name": "Ada"},
    {**LEAD, "unknown": "ignored"},
    *({**LEAD, name: value} for name in ("source", "first_name", "zip") for value in VALUES),
    *({**LEAD, name: value} for name in ("email", "agent_email") for value in EMAILS + VALUES),
    *({**LEAD, "id": value} for value in IDS + VALUES),
    *({**LEAD, "role": value} for value in ROLES),
    *({**LEAD, "activities": value} for value in ACTIVITIES),
    {"source": None, "email": "nope", "role": "nope", "id": 1, "activities": "nope"},
]


def incomplete(activity: object) -> bool:
    return isinstance(activity, dict) and not {"type", "source", "description"} <= set(activity)


def with_incomplete_activity(body: dict[str, Any]) -> bool:
    activities = body.get("activities")
    return isinstance(activities, list) and any(map(incomplete, activities))


KINDS = [
    {"partial": partial, "potential_seller": potential_seller}
    for partial in (False, True)
    for potential_seller in (False, True)
]
CASES = [
    (body, kind)
    for body in BODIES
    for kind in KINDS
    if not (kind["partial"] and with_incomplete_activity(body))
]


@pytest.mark.parametrize(("body", "kind"), CASES)
def test_a_body_is_validated_as_the_serializer_did(body, kind):
    assert as_now(body, **kind) == as_before(body, **kind)


@pytest.mark.parametrize("potential_seller", [False, True])
@pytest.mark.parametrize("body", [body for body in BODIES if with_incomplete_activity(body)])
def test_a_partial_bodys_activity_needs_its_fields_as_a_whole_bodys_does(body, potential_seller):
    # The serializer skipped a partial body's missing activity fields, and the view
    # failed with a 500: they are required now (tests/leads/test_api.py).
    now = as_now(body, partial=True, potential_seller=potential_seller)

    assert now == as_before(body, partial=False, potential_seller=potential_seller)


def test_the_errors_name_the_fields_in_the_bodys_order():
    body = {"activities": "nope", "role": "nope", "email": "nope", "id": "nope"}

    with pytest.raises(InvalidFields) as raised:
        lead_input(body)

    assert list(raised.value.extra["fields"]) == ["id", "source", "email", "role", "activities"]
