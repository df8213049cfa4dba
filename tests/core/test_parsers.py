"""StrictJsonParser: the one reading of a JSON API's body (`request.data`), seen through
a JsonAPIView as DRF runs it."""

import io
import json

import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import JsonAPIView
from core.parsers import JSON_MAX_DEPTH, StrictJsonParser


class Echo(JsonAPIView):
    """Answers the parsed body, or the error the parser raised."""

    def post(self, request: Request) -> Response:
        return Response({"data": request.data})


class Limited(Echo):
    @property
    def max_body_bytes(self) -> int:
        return 20


def post(body: bytes, *, view=Echo, content_type="application/json", **extra):
    request = RequestFactory().generic("POST", "/", body, content_type=content_type, **extra)
    return view.as_view()(request)


def chunked(body: bytes, *, view=Echo):
    """As gunicorn hands over a chunked body: no Content-Length, a terminated stream."""
    request = RequestFactory().generic("POST", "/", b"", content_type="application/json")
    request.META.pop("CONTENT_LENGTH", None)
    request.META["wsgi.input"] = io.BytesIO(body)
    request.META["wsgi.input_terminated"] = True
    return view.as_view()(request)


def refusal(response, status: int) -> str:
    assert response.status_code == status, response.data
    return response.data["error"]


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def test_is_the_configured_parser_of_every_drf_view():
    assert [type(parser) for parser in Echo().get_parsers()] == [StrictJsonParser]


@pytest.mark.parametrize(
    "value",
    [{"a": [1, 2.5, None, True]}, [1, "x"], "text", 42, None],
    ids=["object", "array", "string", "number", "null"],
)
def test_any_json_value_is_the_data(value):
    assert post(json.dumps(value).encode()).data == {"data": value}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=B", ""],
)
def test_json_is_read_whatever_the_content_type(content_type):
    response = post(b'{"a": 1}', content_type=content_type)

    assert response.data == {"data": {"a": 1}}


def test_a_charset_parameter_has_no_effect_and_a_bom_is_ignored():
    response = post(
        b'\xef\xbb\xbf{"a": "\xc3\xa9"}', content_type="application/json; charset=latin-1"
    )

    assert response.data == {"data": {"a": "é"}}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"a": ', "Invalid JSON body"),
        (b"", "Invalid JSON body"),
        (b"not json", "Invalid JSON body"),
        ('{"a": "é"}'.encode("utf-16"), "Invalid JSON body: not UTF-8"),
        (b'{"a": "\xe9"}', "Invalid JSON body: not UTF-8"),
        (b'{"a": 1, "a": 2}', "Invalid JSON body: a name appears twice in one object"),
        (
            b'[{"b": {"a": 1, "a": 1}}]',
            "Invalid JSON body: a name appears twice in one object",
        ),
    ],
    ids=["truncated", "empty", "not-json", "utf-16", "latin-1", "repeated-name", "repeated-deep"],
)
def test_what_is_not_strict_json_is_400_with_its_reason(body, error):
    assert refusal(post(body), 400) == error


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"])
def test_numbers_json_has_no_form_for_are_400(number):
    assert refusal(post(b'{"price": ' + number + b"}"), 400) == (
        "Invalid JSON body: NaN, Infinity and numbers beyond 1.8e308 are not JSON numbers"
    )


def test_the_deepest_nesting_taken_is_the_limit():
    assert post(nested(JSON_MAX_DEPTH)).status_code == 200
    assert refusal(post(nested(JSON_MAX_DEPTH + 1)), 400) == (
        "Invalid JSON body: nested deeper than 32 levels"
    )


def test_nesting_deeper_than_python_can_parse_is_400_not_a_crash():
    response = post(b"[" * 100_000 + b"]" * 100_000)

    assert refusal(response, 400) == "Invalid JSON body: nested deeper than 32 levels"


def test_text_postgresql_cannot_store_is_left_to_validation():
    """NUL and lone surrogates are valid JSON: the fields that hold them say what is wrong."""
    response = post(b'{"a": "\\u0000", "\\ud800": "b"}')

    assert response.data == {"data": {"a": "\x00", "\ud800": "b"}}


def test_a_chunked_body_is_read():
    assert chunked(b'{"a": 1}').data == {"data": {"a": 1}}


def test_past_djangos_upload_limit_is_413_without_a_limit_in_the_message(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10

    for response in (post(b'{"a": "0123456789"}'), chunked(b'{"a": "0123456789"}')):
        assert refusal(response, 413) == "Request body too large"


def test_past_the_views_limit_is_413_naming_it():
    body = b'{"a": "0123456789abcdef"}'

    for response in (post(body, view=Limited), chunked(body, view=Limited)):
        assert refusal(response, 413) == "Request body too large (limit 20 bytes)"


def test_a_body_at_the_views_limit_is_taken():
    body = b'{"a": "0123456789a"}'
    assert len(body) == 20

    assert post(body, view=Limited).status_code == 200
    assert chunked(body, view=Limited).status_code == 200


def test_a_declared_length_past_the_limit_is_refused_before_the_body_is_read(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    request = RequestFactory().generic("POST", "/", b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "11"
    request.META["wsgi.input"] = io.BytesIO(b"")  # nothing to read: it must not be read

    assert refusal(Echo.as_view()(request), 413) == "Request body too large"
