"""The Subscription API as the partner contract publishes it, seen from a client."""

import io
import json
import logging
import uuid
from datetime import datetime

import pytest
from django.test import Client
from django.test.client import FakePayload
from django.utils import timezone

from leads.models import Delivery, DeliveryState
from leads.services import lead_create
from oauth_provider.models import AccessToken
from subscriptions.models import Subscription
from tests.factories import ApplicationFactory, SiteFactory, SubscriptionFactory, issue_access_token
from tests.http import send
from tests.leads.worker import Receiver, Reply, deliver_now

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

BODY = {"url": "https://api.piesync.test/v1/realgeeks", "secret": "s3cret"}


def path_for(site_uuid, slash: bool = True) -> str:
    return f"/piesync/subscription/{site_uuid}" + ("/" if slash else "")


def call(method, path, token=None, body=None, content_type="application/json", **extra):
    """One request as a partner would send it; `body` is sent as JSON unless it is bytes/str."""
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return send(method, path, body, content_type=content_type, **extra)


def put(site_uuid, token, body=BODY, **kwargs):
    return call("PUT", path_for(site_uuid), token, body, **kwargs)


def get(site_uuid, token, **kwargs):
    return call("GET", path_for(site_uuid), token, **kwargs)


def delete(site_uuid, token, **kwargs):
    return call("DELETE", path_for(site_uuid), token, **kwargs)


def invalid_fields(response) -> dict:
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "Invalid fields"
    assert set(body) == {"error", "fields"}
    return body["fields"]


@pytest.fixture
def subscription(site, application):
    return SubscriptionFactory.create(site=site, application=application, **BODY)


# --- 401: no usable token -------------------------------------------------------------


def test_missing_token_is_401_with_bearer_challenge_without_error_code(site):
    response = call("GET", path_for(site.uuid))

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error"}
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in response["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    ["Basic x", "Bearer", "Bearer ", "Bearer one two", "Token abc"],
    ids=["basic", "bearer-without-token", "bearer-blank", "two-tokens", "other-scheme"],
)
def test_malformed_authorization_is_401_invalid_token(site, header):
    response = call("GET", path_for(site.uuid), HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.json()["error"], str)
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_bearer_scheme_is_case_insensitive(site, access_token, subscription):
    response = call("GET", path_for(site.uuid), HTTP_AUTHORIZATION=f"bearer {access_token}")

    assert response.status_code == 200


def test_unknown_token_is_401_invalid_token(site):
    response = get(site.uuid, "not-a-token-we-issued")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or expired access token"}
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_expired_token_is_401_invalid_token(site, application):
    token = issue_access_token(site=site, application=application, expires_in=-1)

    response = get(site.uuid, token)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or expired access token"}
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_revoked_token_is_401_invalid_token(site, access_token):
    assert put(site.uuid, access_token).status_code == 200
    AccessToken.objects.filter(site=site).delete()

    response = put(site.uuid, access_token)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or expired access token"}
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_token_is_not_read_from_the_query_string(site, access_token):
    response = call("GET", path_for(site.uuid) + f"?access_token={access_token}")

    assert response.status_code == 401


# --- 403: wrong scope -------------------------------------------------------------------


def test_token_without_connect_scope_is_403_insufficient_scope(site, application):
    token = issue_access_token(site=site, application=application, scope="leadrouter:send")

    response = put(site.uuid, token)

    assert response.status_code == 403
    assert response.json() == {"error": "The access token lacks the leadrouter:connect scope"}
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="leadrouter:connect"' in response["WWW-Authenticate"]
    assert not Subscription.objects.exists()


# --- 404: site ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_nonexistent_site_is_404_site_not_found(access_token, method):
    response = call(method, path_for(uuid.uuid4()), access_token, BODY)

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
@pytest.mark.parametrize("bad_uuid", ["not-a-uuid", "123", "aa808177-d2cc-415d-b504-a36abf39ac0"])
def test_malformed_site_uuid_is_404_site_not_found(access_token, method, bad_uuid):
    response = call(method, path_for(bad_uuid), access_token, BODY)

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_another_sites_uuid_is_404_site_not_found(user, application, access_token, method):
    other = SiteFactory.create(owner=user)
    existing = SubscriptionFactory.create(site=other, application=application, **BODY)

    response = call(method, path_for(other.uuid), access_token, {**BODY, "secret": "stolen"})

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}
    existing.refresh_from_db()
    assert existing.secret == "s3cret"


def test_another_applications_subscription_is_invisible(site, application, access_token):
    SubscriptionFactory.create(site=site, application=ApplicationFactory.create(), **BODY)

    response = get(site.uuid, access_token)

    assert response.status_code == 404
    assert response.json() == {"error": "Subscription not found"}


# --- PUT / GET / DELETE -------------------------------------------------------------------


def test_put_creates_the_subscription(site, application, access_token):
    response = put(site.uuid, access_token)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == BODY
    row = Subscription.objects.get()
    assert (row.site, row.application, row.url, row.secret, row.active) == (
        site,
        application,
        BODY["url"],
        BODY["secret"],
        True,
    )


def test_put_again_replaces_in_place(site, access_token, subscription):
    new = {"url": "https://hooks.piesync.test/v2", "secret": "n3w"}

    response = put(site.uuid, access_token, new)

    assert response.status_code == 200
    assert response.json() == new
    row = Subscription.objects.get()
    assert row.pk == subscription.pk
    assert (row.url, row.secret) == (new["url"], new["secret"])
    assert row.created == subscription.created
    assert row.updated > subscription.updated


def test_put_reactivates_a_deactivated_subscription(site, access_token, subscription):
    Subscription.objects.filter(pk=subscription.pk).update(active=False)

    assert put(site.uuid, access_token).status_code == 200

    assert Subscription.objects.get().active is True


def test_get_returns_the_subscription(site, access_token, subscription):
    response = get(site.uuid, access_token)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == BODY


def test_get_without_subscription_is_404_subscription_not_found(site, access_token):
    response = get(site.uuid, access_token)

    assert response.status_code == 404
    assert response.json() == {"error": "Subscription not found"}


def test_put_then_get_round_trips(site, access_token):
    put(site.uuid, access_token)

    assert get(site.uuid, access_token).json() == BODY


def test_delete_removes_the_subscription_with_204_and_empty_body(site, access_token, subscription):
    response = delete(site.uuid, access_token)

    assert response.status_code == 204
    assert response.content == b""
    assert not Subscription.objects.exists()


def test_delete_without_subscription_is_204(site, access_token):
    response = delete(site.uuid, access_token)

    assert response.status_code == 204
    assert response.content == b""


def test_delete_leaves_other_applications_subscription(site, access_token, subscription):
    other = SubscriptionFactory.create(site=site, application=ApplicationFactory.create(), **BODY)

    delete(site.uuid, access_token)

    assert list(Subscription.objects.all()) == [other]


def test_get_after_delete_is_404(site, access_token, subscription):
    delete(site.uuid, access_token)

    assert get(site.uuid, access_token).json() == {"error": "Subscription not found"}


def test_site_uuid_in_uppercase_is_the_same_site(site, access_token):
    response = put(str(site.uuid).upper(), access_token)

    assert response.status_code == 200


# --- a subscription its endpoint deactivated (410) ----------------------------------------


@pytest.fixture
def gone():
    """A receiver whose hook answers 410 Gone."""
    server = Receiver()
    server.script("/hook", Reply(410))
    yield server
    server.close()


def deactivate_by_410(site, token, receiver) -> None:
    """PUT the receiver's URL, then deliver a lead to it as the worker does."""
    assert put(site.uuid, token, {**BODY, "url": receiver.url("/hook")}).status_code == 200
    lead_create(site=site, fields={"source": "Website"})
    deliver_now(Delivery.objects.get())
    assert receiver.answered("/hook")[0].status == 410


@pytest.mark.usefixtures("transactional_db")
def test_get_after_a_410_says_the_subscription_is_inactive_since_when_and_why(
    site, access_token, gone
):
    before = timezone.now()
    deactivate_by_410(site, access_token, gone)

    response = get(site.uuid, access_token)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "url": gone.url("/hook"),
        "secret": BODY["secret"],
        "active": False,
        "deactivated_at": body["deactivated_at"],
        "deactivated_reason": "The webhook URL answered 410 Gone",
    }
    assert before <= datetime.fromisoformat(body["deactivated_at"]) <= timezone.now()


@pytest.mark.usefixtures("transactional_db")
def test_put_after_a_410_reactivates_and_answers_the_published_shape(site, access_token, gone):
    deactivate_by_410(site, access_token, gone)

    response = put(site.uuid, access_token)

    assert response.status_code == 200
    assert response.json() == BODY
    assert get(site.uuid, access_token).json() == BODY
    lead_create(site=site, fields={"source": "Website"})
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 1


# --- path without the trailing slash -------------------------------------------------------


def test_put_without_trailing_slash_keeps_method_and_body(site, access_token):
    response = call("PUT", path_for(site.uuid, slash=False), access_token, BODY)

    assert response.status_code == 200
    assert response.json() == BODY
    assert Subscription.objects.get().url == BODY["url"]


def test_get_without_trailing_slash_is_served(site, access_token, subscription):
    response = call("GET", path_for(site.uuid, slash=False), access_token)

    assert response.status_code == 200
    assert response.json() == BODY


def test_delete_without_trailing_slash_is_served(site, access_token, subscription):
    response = call("DELETE", path_for(site.uuid, slash=False), access_token)

    assert response.status_code == 204
    assert not Subscription.objects.exists()


# --- 400: body is not a JSON object ------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"url": "https://a.test/",',
        b"not json",
        b'["https://a.test/", "s3cret"]',
        b'"https://a.test/"',
        b"42",
        b"null",
        b"",
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        b'{"a":' * 100_000,
    ],
    ids=[
        "truncated",
        "not-json",
        "array",
        "string",
        "number",
        "null",
        "empty",
        "bad-encoding",
        "deeply-nested-array",
        "deeply-nested-object",
    ],
)
def test_body_that_is_not_a_json_object_is_400(site, access_token, raw):
    response = put(site.uuid, access_token, raw)

    assert response.status_code == 400
    assert response.json() == {"error": "Invalid JSON body"}
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_json_with_another_content_type_is_accepted(site, access_token, content_type):
    response = put(site.uuid, access_token, content_type=content_type)

    assert response.status_code == 200
    assert response.json() == BODY


def test_json_without_content_type_is_accepted(site, access_token):
    data = json.dumps(BODY).encode()

    response = Client().request(
        REQUEST_METHOD="PUT",
        PATH_INFO=path_for(site.uuid),
        CONTENT_LENGTH=str(len(data)),
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
        **{"wsgi.input": FakePayload(data)},
    )

    assert response.status_code == 200
    assert response.json() == BODY


def chunked_put(site, token, data: bytes):
    """A PUT as gunicorn hands over a chunked body: no Content-Length, stream terminated."""
    return Client().request(
        REQUEST_METHOD="PUT",
        PATH_INFO=path_for(site.uuid),
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **{"wsgi.input": io.BytesIO(data), "wsgi.input_terminated": True},
    )


def test_chunked_json_body_without_content_length_is_accepted(site, access_token):
    response = chunked_put(site, access_token, json.dumps(BODY).encode())

    assert response.status_code == 200
    assert response.json() == BODY


def test_chunked_body_over_the_upload_limit_is_413(site, access_token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = chunked_put(site, access_token, json.dumps({**BODY, "secret": "s" * 200}).encode())

    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large"}


def test_json_with_charset_parameter_is_accepted(site, access_token):
    response = put(site.uuid, access_token, content_type="application/json; charset=utf-8")

    assert response.status_code == 200


# --- 422: field validation ----------------------------------------------------------------


def test_blank_url_uses_the_contracts_wording(site, access_token):
    response = put(site.uuid, access_token, {"url": "", "secret": "s3cret"})

    assert response.json() == {
        "error": "Invalid fields",
        "fields": {"url": ["This field cannot be blank."]},
    }
    assert response.status_code == 422


def test_blank_secret_is_422(site, access_token):
    fields = invalid_fields(put(site.uuid, access_token, {"url": BODY["url"], "secret": ""}))

    assert fields == {"secret": ["This field cannot be blank."]}


def test_missing_fields_are_422_naming_each(site, access_token):
    fields = invalid_fields(put(site.uuid, access_token, {}))

    assert fields == {"url": ["This field is required."], "secret": ["This field is required."]}


def test_null_fields_are_422(site, access_token):
    fields = invalid_fields(put(site.uuid, access_token, {"url": None, "secret": None}))

    assert set(fields) == {"url", "secret"}


@pytest.mark.parametrize("value", [42, True, ["https://a.test/"], {"href": "https://a.test/"}])
def test_non_string_fields_are_422(site, access_token, value):
    fields = invalid_fields(put(site.uuid, access_token, {"url": value, "secret": value}))

    assert fields == {"url": ["Must be a string."], "secret": ["Must be a string."]}


def test_url_over_2048_characters_is_422(site, access_token):
    url = "https://api.piesync.test/" + "a" * (2049 - len("https://api.piesync.test/"))

    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "url": url}))

    assert fields == {"url": ["Ensure this field has no more than 2048 characters."]}


def test_url_of_exactly_2048_characters_is_accepted(site, access_token):
    url = "https://api.piesync.test/" + "a" * (2048 - len("https://api.piesync.test/"))

    response = put(site.uuid, access_token, {**BODY, "url": url})

    assert response.status_code == 200
    assert Subscription.objects.get().url == url


@pytest.mark.parametrize(
    "url",
    ["/v1/realgeeks", "api.piesync.test/v1", "ftp://api.piesync.test/", "mailto:a@b.test"],
    ids=["relative-path", "no-scheme", "ftp", "mailto"],
)
def test_url_that_is_not_absolute_http_is_422(site, access_token, url):
    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "url": url}))

    assert fields == {"url": ["Enter an absolute http or https URL."]}


def test_url_with_fragment_is_422(site, access_token):
    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "url": BODY["url"] + "#x"}))

    assert fields == {"url": ["The URL must not contain a fragment."]}


def test_url_with_credentials_is_422(site, access_token):
    url = "https://user:pass@api.piesync.test/"

    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "url": url}))

    assert fields == {"url": ["The URL must not contain credentials."]}


@pytest.mark.parametrize(
    "url",
    ["https://api.piesync.test/a b", "https://api.piesync.test:99999/", "http://[::1/"],
    ids=["space", "port-out-of-range", "broken-ipv6"],
)
def test_malformed_url_is_422(site, access_token, url):
    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "url": url}))

    assert list(fields) == ["url"]


@pytest.mark.parametrize(
    "url",
    ["https://api.piesync.test/\x00", "https://api.piesync.test/\x7f", "https://api.\x01.test/"],
    ids=["nul", "del", "control-in-host"],
)
def test_url_with_control_characters_is_422(site, access_token, url):
    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "url": url}))

    assert fields == {"url": ["Enter a valid URL."]}


def test_secret_over_255_characters_is_422(site, access_token):
    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "secret": "s" * 256}))

    assert fields == {"secret": ["Ensure this field has no more than 255 characters."]}


def test_secret_of_exactly_255_characters_is_accepted(site, access_token):
    response = put(site.uuid, access_token, {**BODY, "secret": "s" * 255})

    assert response.status_code == 200
    assert Subscription.objects.get().secret == "s" * 255


def test_secret_with_nul_character_is_422(site, access_token):
    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "secret": "s3\x00cret"}))

    assert fields == {"secret": ["Null characters are not allowed."]}


def test_lone_surrogates_are_422(site, access_token):
    raw = b'{"url": "https://api.piesync.test/\\ud800", "secret": "s3\\udfffcret"}'

    fields = invalid_fields(put(site.uuid, access_token, raw))

    assert fields == {"url": ["Enter a valid URL."], "secret": ["Enter valid Unicode text."]}


def test_unicode_secret_and_url_path_are_stored_as_sent(site, access_token):
    body = {"url": "https://api.piesync.test/ünïcode", "secret": "sécret-🔑"}

    response = put(site.uuid, access_token, body)

    assert response.status_code == 200
    assert response.json() == body
    assert get(site.uuid, access_token).json() == body


def test_international_domain_name_is_stored_and_returned_as_sent(site, access_token):
    body = {"url": "https://bücher.test/hook", "secret": "s3cret"}

    response = put(site.uuid, access_token, body)

    assert response.status_code == 200
    assert response.json() == body
    assert get(site.uuid, access_token).json() == body


def test_host_that_is_not_a_valid_international_domain_name_is_422(site, access_token):
    fields = invalid_fields(put(site.uuid, access_token, {**BODY, "url": "http://☃.com/hook"}))

    assert fields == {"url": ["The URL's host is not a valid international domain name."]}
    assert not Subscription.objects.exists()


def test_invalid_put_leaves_the_existing_subscription(site, access_token, subscription):
    put(site.uuid, access_token, {"url": "", "secret": "x"})

    row = Subscription.objects.get()
    assert (row.url, row.secret) == (BODY["url"], BODY["secret"])


def test_unknown_fields_are_ignored(site, access_token):
    response = put(site.uuid, access_token, {**BODY, "active": False, "id": 7, "extra": [1]})

    assert response.status_code == 200
    assert response.json() == BODY
    assert Subscription.objects.get().active is True


# --- Accept ---------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "*/*", "nonsense"])
def test_any_accept_header_gets_json(site, access_token, subscription, accept):
    response = get(site.uuid, access_token, HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == BODY


def test_errors_are_json_even_when_html_is_asked_for(site, access_token):
    response = get(uuid.uuid4(), access_token, HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}


# --- 413 ----------------------------------------------------------------------------------


def test_body_over_the_upload_limit_is_413_json(site, access_token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = put(site.uuid, access_token, {**BODY, "secret": "s" * 200})

    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large"}
    assert not Subscription.objects.exists()


# --- 405 / 500 ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_undocumented_method_is_405_json_with_allow(site, access_token, method):
    response = call(method, path_for(site.uuid), access_token, BODY)

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": f'Method "{method}" not allowed.'}
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert {"PUT", "GET", "DELETE"} <= allowed
    assert method not in allowed


def test_options_is_answered_with_the_methods_its_allow_header_lists(site, access_token):
    response = call("OPTIONS", path_for(site.uuid), access_token)

    assert response.status_code == 200
    assert response.content == b""
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert allowed == {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


def test_unexpected_error_is_500_json_and_logged_with_traceback(
    site, access_token, monkeypatch, caplog
):
    def explode(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("subscriptions.selectors.subscription_bearer_token", explode)

    with caplog.at_level(logging.ERROR):
        response = get(site.uuid, access_token)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Internal server error"}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert errors
    assert errors[0].exc_info[0] is RuntimeError
    assert "database on fire" not in response.content.decode()


# --- cost ---------------------------------------------------------------------------------


def test_authorized_get_is_one_query(site, access_token, subscription, django_assert_num_queries):
    """The token, its site and its subscription together (test_round_trips.py counts
    every statement sent, transactions included)."""
    with django_assert_num_queries(1):
        response = get(site.uuid, access_token)

    assert response.status_code == 200
