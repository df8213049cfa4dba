"""Every error on a machine-facing path (/piesync/, /rest/) is JSON with an `error` key."""

import logging

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.test import Client

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.mark.parametrize(
    "path",
    ["/piesync/nope", "/piesync/nope/", "/piesync/subscription/", "/piesync/subscription/a/b/"],
)
def test_unknown_piesync_path_is_404_json(path):
    response = Client().get(path)

    assert assert_json_error(response, 404) == {"error": "Not Found"}


def test_unknown_rest_path_is_404_json():
    response = Client().get("/rest/nope/")

    assert assert_json_error(response, 404) == {"error": "Not Found"}


def test_unknown_path_with_a_body_and_another_method_is_404_json():
    response = Client().put("/piesync/nope", b"<xml/>", content_type="application/xml")

    assert assert_json_error(response, 404) == {"error": "Not Found"}


def test_paths_outside_the_apis_keep_html_errors():
    response = Client().get("/nope/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_on_a_non_drf_endpoint_is_405_json_with_allow():
    response = Client().get("/piesync/oauth/token/")

    assert assert_json_error(response, 405) == {"error": "Method Not Allowed"}
    assert "POST" in response["Allow"]


def test_unexpected_exception_in_a_non_drf_view_is_500_json_and_logged(monkeypatch, caplog):
    def explode(self, request, *args, **kwargs):
        raise RuntimeError("token store unavailable")

    monkeypatch.setattr("oauth_provider.views.tokens.TokenView.post", explode)

    with caplog.at_level(logging.ERROR, logger="core.errors"):
        response = Client().post("/piesync/oauth/token/", {"grant_type": "authorization_code"})

    assert assert_json_error(response, 500) == {"error": "Internal server error"}
    [record] = [r for r in caplog.records if r.name == "core.errors"]
    assert record.exc_info[0] is RuntimeError
    assert "token store unavailable" not in response.content.decode()


@pytest.mark.parametrize(
    ("exception", "status", "message"),
    [
        (Http404("gone"), 404, "Not Found"),
        (PermissionDenied("no"), 403, "Forbidden"),
        (SuspiciousOperation("odd"), 400, "Bad Request"),
    ],
    ids=["http404", "permission-denied", "suspicious-operation"],
)
def test_django_http_exceptions_keep_their_status_as_json(
    monkeypatch, caplog, exception, status, message
):
    def refuse(self, request, *args, **kwargs):
        raise exception

    monkeypatch.setattr("oauth_provider.views.tokens.TokenView.post", refuse)

    with caplog.at_level(logging.ERROR, logger="core.errors"):
        response = Client().post("/piesync/oauth/token/", {"grant_type": "authorization_code"})

    assert assert_json_error(response, status) == {"error": message}
    assert not [r for r in caplog.records if r.name == "core.errors"]


def test_form_body_over_the_upload_limit_is_413_json(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = Client().post(
        "/piesync/oauth/token/", {"grant_type": "authorization_code", "code": "c" * 500}
    )

    assert assert_json_error(response, 413) == {"error": "Request body too large"}


def test_docs_page_is_html_not_json():
    response = Client().get("/piesync/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


OAUTH_FORM_ENDPOINTS = [
    "/piesync/oauth/token/",
    "/piesync/oauth/revoke_token/",
    "/piesync/oauth/introspect/",
]


@pytest.mark.parametrize("path", OAUTH_FORM_ENDPOINTS)
@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary="],
    ids=["no-boundary", "empty-boundary"],
)
def test_multipart_without_a_usable_boundary_is_400_invalid_request(path, content_type, caplog):
    with caplog.at_level(logging.ERROR, logger="core.errors"):
        response = Client().generic("POST", path, b"token=abc", content_type=content_type)

    assert assert_json_error(response, 400) == {
        "error": "invalid_request",
        "error_description": "Malformed multipart/form-data body (RFC 7578).",
    }
    assert response["Cache-Control"] == "no-store"
    assert not [r for r in caplog.records if r.name == "core.errors"]
