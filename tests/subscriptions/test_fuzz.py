"""Property-based run of the published schema against the app (schemathesis, in-process WSGI).

Every generated request (valid and invalid bodies, path parameters, with and without the
token) must get a documented status, never a 5xx, with a body that matches the schema.
"""

import json
import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from tests.factories import SiteFactory, issue_access_token

SITE_UUID = uuid.UUID("aa808177-d2cc-415d-b504-a36abf39ac00")

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.ignored_auth,
    checks.unsupported_method,
    checks.allow_header_conformance,
    checks.negative_data_rejection,
]


@pytest.fixture
def fuzz_token(fast_password_hashing, user, application):
    site = SiteFactory.create(owner=user, uuid=SITE_UUID)
    return issue_access_token(site=site, application=application)


@pytest.fixture
def wsgi_app(db):
    """The real WSGI app, kept from closing the test's connection (as Django's Client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app, fuzz_token):
    loaded = schemathesis.openapi.from_wsgi("/piesync/schema/?format=json", wsgi_app)

    @loaded.hook
    def flatmap_path_parameters(context, path_parameters):
        # Mostly the site the token is bound to, so that requests get past the 404.
        own = {**path_parameters, "site_uuid": str(SITE_UUID)}
        return st.sampled_from([own, own, path_parameters])

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema").include(
    path_regex="^/piesync/subscription/"
)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_subscription_api_conforms_to_its_schema(case, fuzz_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"}, checks=CHECKS)


# --- PUT bodies, straight from hypothesis: the values schemathesis rarely reaches --------

# Finite numbers only: NaN and Infinity are not JSON (tests/test_hostile_input.py sends them).
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Awkward characters drawn often: hypothesis's plain text() rarely yields "\x00" and
# never a lone surrogate, which JSON's "\\ud800" can carry.
AWKWARD = st.sampled_from(["\x00", "\x01", "\x7f", "\x85", "\ud800", "\udfff", "\n", " ", "#", "?"])
ANY_TEXT = AWKWARD | st.characters() | st.characters()
GOOD_URLS = st.builds(
    "https://hooks.piesync.test/{}".format,
    st.text(st.characters(categories=["L", "N"]) | st.sampled_from("/-_.~%"), max_size=30),
)
URLS = st.one_of(
    GOOD_URLS,
    st.text(ANY_TEXT, max_size=40),
    st.builds("https://hooks.piesync.test/{}{}".format, st.text(max_size=9), AWKWARD),
    st.builds("http://{}/hook".format, st.text(ANY_TEXT, max_size=20)),
)
SECRETS = st.one_of(
    st.text(ANY_TEXT, max_size=20),
    st.builds("{}{}{}".format, st.text(max_size=8), AWKWARD, st.text(max_size=8)),
    st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=250, max_size=260),
)
FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def put_as_partner(body, token):
    return Client().put(
        f"/piesync/subscription/{SITE_UUID}/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@FUZZ_SETTINGS
@given(body=st.fixed_dictionaries({"url": URLS, "secret": SECRETS}))
def test_put_of_string_fields_is_200_and_round_trips_or_422(body, fuzz_token):
    response = put_as_partner(body, fuzz_token)

    assert response.status_code in (200, 422), response.content
    if response.status_code == 200:
        assert response.json() == body
        got = Client().get(
            f"/piesync/subscription/{SITE_UUID}/", HTTP_AUTHORIZATION=f"Bearer {fuzz_token}"
        )
        assert got.json() == body
    else:
        answer = response.json()
        assert answer["error"] == "Invalid fields"
        assert set(answer["fields"]) <= {"url", "secret"}
        assert all(isinstance(m, str) for ms in answer["fields"].values() for m in ms)


@FUZZ_SETTINGS
@given(body=JSON_VALUES | st.dictionaries(st.sampled_from(["url", "secret", "x"]), JSON_VALUES))
def test_put_of_any_json_is_200_400_or_422_never_5xx(body, fuzz_token):
    response = put_as_partner(body, fuzz_token)

    assert response.status_code in (200, 400, 422), response.content
    answer = response.json()
    if response.status_code == 400:
        assert answer == {"error": "Invalid JSON body"}
        assert not isinstance(body, dict)
    elif response.status_code == 422:
        assert answer["error"] == "Invalid fields"
