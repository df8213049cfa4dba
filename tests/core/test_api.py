"""The JSON APIs' shared plumbing: which status each kind of domain error is answered
with, the error body, and the validation every view goes through."""

import pytest
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import JsonAPIView, flatten_errors, json_object, status_of, validated
from core.errors import (
    Conflict,
    DomainError,
    InvalidFields,
    InvalidInput,
    InvalidJson,
    NotFound,
    ServerFault,
    TooLarge,
    Unprocessable,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DomainError("Refused"), 400),
        (InvalidInput("Unreadable"), 400),
        (InvalidJson("not UTF-8"), 400),
        (NotFound("Lead not found"), 404),
        (Conflict("A lead with the id 1 already exists"), 409),
        (TooLarge("Request body too large"), 413),
        (Unprocessable("A site needs a domain."), 422),
        (InvalidFields({"source": ["This field is required."]}), 422),
        (ServerFault("Subscription secret unavailable"), 500),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, DomainError) else str(value),
)
def test_each_kind_of_domain_error_has_its_status(error, status):
    assert status_of(error) == status


def test_a_subclass_of_a_kind_has_the_kinds_status():
    class SecretGone(ServerFault):
        pass

    assert status_of(SecretGone("gone")) == 500


def test_invalid_fields_names_every_problem_in_its_message_and_fields():
    error = InvalidFields({"source": ["This field is required."], "email": ["Bad.", "Long."]})

    assert error.as_body() == {
        "error": "Invalid fields: source: This field is required.; email: Bad. Long.",
        "fields": {"source": ["This field is required."], "email": ["Bad.", "Long."]},
    }
    assert error.as_body(reason=False)["error"] == "Invalid fields"


class Lead(serializers.Serializer):
    email = serializers.CharField()
    activities = serializers.ListField(child=serializers.DictField(), required=False)


class Answer(JsonAPIView):
    def post(self, request: Request) -> Response:
        validated(Lead(data=json_object(request)))
        return Response({})


class ShortAnswer(Answer):
    error_reasons = False


def post(view, body: bytes):
    request = RequestFactory().post("/", body, content_type="application/json")
    return view.as_view()(request)


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        (b"[]", 400, {"error": "Invalid JSON body: expected a JSON object"}),
        (b"{,", 400, {"error": "Invalid JSON body"}),
        (
            b"{}",
            422,
            {
                "error": "Invalid fields: email: This field is required.",
                "fields": {"email": ["This field is required."]},
            },
        ),
    ],
)
def test_errors_are_answered_with_their_status_and_reason(body, status, answer):
    response = post(Answer, body)

    assert (response.status_code, response.data) == (status, answer)


def test_a_view_without_error_reasons_answers_the_message_alone():
    assert post(ShortAnswer, b"[]").data == {"error": "Invalid JSON body"}
    assert post(ShortAnswer, b"\xff").data == {"error": "Invalid JSON body"}
    assert post(ShortAnswer, b"{}").data == {
        "error": "Invalid fields",
        "fields": {"email": ["This field is required."]},
    }


def test_nested_errors_are_flattened_to_paths():
    errors = {
        "activities": {0: {"type": ["Required."]}, 2: ["Not a dict."]},
        "non_field_errors": ["Odd."],
    }

    assert flatten_errors(errors) == {
        "activities[0].type": ["Required."],
        "activities[2]": ["Not a dict."],
        "body": ["Odd."],
    }
    assert flatten_errors([{}, {"type": ["Required."]}]) == {"[1].type": ["Required."]}
