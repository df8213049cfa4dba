"""Hostile input on every endpoint that reads a body: never a 5xx, every error in the
documented JSON format, nothing written when the request is refused, and nothing but
strict JSON accepted by the JSON APIs.

The corpus is generated (hypothesis): JSON that Python would accept but RFC 8259 does not
(NaN, Infinity, 1e999, repeated names), deep nesting, U+0000 and lone surrogates, huge
bodies, odd and lying content types and charsets, byte order marks, multipart with and
without a boundary, empty bodies and top-level non-objects. Hostile values are mostly put
inside an otherwise valid lead or subscription, so that they get past validation to the
database. Bounded: a fixed number of examples per endpoint and a deadline per example.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Activity, Delivery, Lead, LeadEvent
from oauth_provider.models import AccessToken, Connection, Grant, RefreshToken
from subscriptions.models import Subscription
from tests.factories import SubscriptionFactory, issue_access_token
from tests.leads.samples import ACTIVITY, LEAD
from tests.oauth_provider.flow import basic_auth

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

# --- JSON documents -----------------------------------------------------------------


class Raw(str):
    """Text written into the body as it is: what a sloppy JSON encoder emits."""


@dataclass(frozen=True)
class Obj:
    """A JSON object as its members in order, so that a name can appear twice."""

    members: tuple[tuple[str, object], ...]


def render(value: object, *, ascii_only: bool) -> str:
    def inner(item: object) -> str:
        return render(item, ascii_only=ascii_only)

    if isinstance(value, Raw):
        return value
    if isinstance(value, Obj):
        return "{" + ", ".join(f"{inner(k)}: {inner(v)}" for k, v in value.members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(inner, value)) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def nested(depth: int) -> Raw:
    return Raw('{"a": ' * depth + "1" + "}" * depth)


NOT_JSON_NUMBERS = st.sampled_from([Raw(t) for t in ("NaN", "Infinity", "-Infinity", "1e999")])
DEEP = st.sampled_from([31, 33, 400, 5000]).map(nested) | st.just(Raw("[" * 90_000 + "]" * 90_000))
AWKWARD_TEXT = st.sampled_from(["\x00", "\ud800", "\udfff", "\ufeff", "\u2028", "\x85", "é", "𝄞"])
TEXT = st.text(AWKWARD_TEXT | st.characters(), max_size=12)
NAMES = st.sampled_from([*LEAD, *ACTIVITY, "activities", "property", "url", "secret", "id"]) | TEXT
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers() | st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    NOT_JSON_NUMBERS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(st.tuples(NAMES, inner), max_size=3).map(lambda m: Obj(tuple(m)))
    ),
    max_leaves=8,
)
HOSTILE_VALUES = st.one_of(NOT_JSON_NUMBERS, DEEP, TEXT, VALUES)

SOUND_PROPERTY = {"price": 100, "beds": 3}
SOUND_BODY = {**LEAD, "url": "http://127.0.0.1:9/hook", "secret": "s3cret"}


@st.composite
def sound_with_one_hostile_value(draw) -> Obj | list[Obj]:
    """A lead with an activity (also a subscription: url and secret), or an activities
    array, with one hostile member put in: in the body, an activity or its property, under
    a new name or one already there (then the name appears twice)."""

    def insert(members: Mapping[str, object], hostile: bool) -> Obj:
        pairs = list(members.items())
        if hostile:
            name = draw(st.sampled_from(list(members)) | NAMES)
            pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(HOSTILE_VALUES)))
        return Obj(tuple(pairs))

    where = draw(st.sampled_from(["body", "activity", "property"]))
    prop = insert(SOUND_PROPERTY, where == "property")
    activity = insert({**ACTIVITY, "property": prop}, where == "activity")
    if draw(st.booleans()):
        return [activity]
    return insert({**SOUND_BODY, "activities": [activity]}, where == "body")


JSON_DOCUMENTS = st.one_of(
    sound_with_one_hostile_value(), sound_with_one_hostile_value(), VALUES, DEEP
)


@st.composite
def encoded_json(draw) -> bytes:
    text = render(draw(JSON_DOCUMENTS), ascii_only=draw(st.booleans()))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    # surrogatepass: a lone surrogate written raw, as some encoders do (invalid UTF-8).
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    return text.encode(encoding, errors)


# --- other bodies, content types, headers ------------------------------------------


def form(pairs: list[tuple[str, str]]) -> bytes:
    def encode(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"))

    return "&".join(f"{encode(name)}={encode(value)}" for name, value in pairs).encode()


FORM_NAMES = st.sampled_from(["grant_type", "token", "refresh_token", "code", "client_id"]) | TEXT
FORM_VALUES = TEXT | st.sampled_from(["refresh_token", "authorization_code"])
MULTIPART = b'--B\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc\r\n--B--\r\n'
ANY_BODY = st.one_of(
    encoded_json(),
    st.just(b""),
    st.binary(max_size=40),
    # Past the Incoming Leads API's limit, and past Django's upload limit.
    st.sampled_from([300 * 1024, 3 * 1024 * 1024]).map(
        lambda n: b'{"source": "' + b"x" * n + b'"}'
    ),
    st.lists(st.tuples(FORM_NAMES, FORM_VALUES), max_size=4).map(form),
    st.sampled_from([MULTIPART, b"--B\r\ngarbage", MULTIPART.replace(b"abc", b"\xff\x00")]),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
        "application/json; charset=no-such-charset",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=B",
        "",
        "*/*;;=;",
    ]
)
# Sent with every request: other ways a long or odd value reaches the app.
QUERY_STRINGS = st.just("") | TEXT.map(lambda t: "?q=" + quote(t.encode("utf-8", "surrogatepass")))
REQUEST_IDS = st.just("") | st.text(st.characters(exclude_characters="\r\n"), max_size=300)

# --- endpoints, and what is checked -------------------------------------------------

SUBSCRIPTION = "/piesync/subscription/{site}/"
JSON_ENDPOINTS = {
    "subscription-put": ("PUT", SUBSCRIPTION),
    "subscription-get": ("GET", SUBSCRIPTION),
    "subscription-delete": ("DELETE", SUBSCRIPTION),
    "leads-post": ("POST", "/rest/sites/{site}/leads"),
    "lead-patch": ("PATCH", "/rest/sites/{site}/leads/{lead}"),
    "activities-post": ("POST", "/rest/sites/{site}/leads/{lead}/activities"),
    "potential-seller-post": ("POST", "/rest/sites/{site}/potential-seller-leads"),
}
ENDPOINTS = {
    **JSON_ENDPOINTS,
    "oauth-token": ("POST", "/piesync/oauth/token/"),
    "oauth-revoke": ("POST", "/piesync/oauth/revoke_token/"),
    "oauth-introspect": ("POST", "/piesync/oauth/introspect/"),
}
BODILESS = ("GET", "DELETE")
# The documented error bodies: RFC 6749 §5.2's on OAuth endpoints, {"error": ...} (422s
# add "fields") elsewhere.
OAUTH_ERROR_KEYS = {"error", "error_description", "error_uri"}
API_ERROR_KEYS = {"error", "fields"}

# Every table a request could write to (not the rate-limit counters: counting is their point).
WATCHED = [
    Lead,
    Activity,
    LeadEvent,
    Delivery,
    Subscription,
    AccessToken,
    RefreshToken,
    Grant,
    Connection,
]
# A digest of each table's rows, in one query: cheap enough to take around every request.
DIGEST = " UNION ALL ".join(
    f"SELECT '{table}', md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), '')) FROM {table} r"  # noqa: S608 (table names from the models)
    for table in (model._meta.db_table for model in WATCHED)
)


def database_digest() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(DIGEST)
        return cursor.fetchall()


def is_strict_json(raw: bytes) -> bool:
    """The rule in docs/api.md ("Strict JSON bodies"), read a second way: UTF-8 (a BOM
    aside), parseable, without NaN, Infinity, 1e999 or a repeated name, at most 32 levels
    deep."""

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        if len({name for name, _ in pairs}) != len(pairs):
            raise ValueError("repeated name")
        return dict(pairs)

    def depth(value: object) -> int:
        children = list(value.values()) if isinstance(value, dict) else value
        if not isinstance(children, list):
            return 0
        return 1 + max(map(depth, children), default=0)

    def refuse(token: str) -> float:
        raise ValueError(token)

    def finite(literal: str) -> float:
        return float(literal) if math.isfinite(float(literal)) else refuse(literal)

    try:
        value = json.loads(
            raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"),
            parse_constant=refuse,
            parse_float=finite,
            object_pairs_hook=unique,
        )
    except (ValueError, RecursionError):
        return False
    return depth(value) <= 32


@pytest.fixture
def target(site, application):
    """What gets every request through to its body: a connected client, a token with both
    scopes, an existing lead and subscription."""
    Connection.objects.create(site=site, application=application, connected_by=site.owner)
    lead = Lead.objects.create(site=site, **LEAD)
    SubscriptionFactory.create(
        site=site, application=application, url="http://127.0.0.1:9/hook", secret="s3cret"
    )
    return {
        "site": site.uuid,
        "lead": lead.id.hex,
        "basic": basic_auth(application.client_id),
        "bearer": f"Bearer {issue_access_token(site=site, application=application)}",
    }


def send_and_check(
    target, endpoint: str, body: bytes, content_type: str, query: str, request_id: str
):
    """Sends one request; checks no 5xx, and for a refusal its JSON error body and that
    nothing was written. Returns the response."""
    method, template = ENDPOINTS[endpoint]
    path = template.format(**target)
    oauth = path.startswith("/piesync/oauth/")
    authorization = target["bearer"] if template == SUBSCRIPTION else target["basic"]
    before = database_digest()

    response = Client().generic(
        method,
        path + query,
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=authorization,
        HTTP_X_REQUEST_ID=request_id,
    )

    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json", response.content[:500]
        answer = response.json()
        assert isinstance(answer, dict) and isinstance(answer.get("error"), str), answer
        assert answer["error"] and set(answer) <= (OAUTH_ERROR_KEYS if oauth else API_ERROR_KEYS)
        assert database_digest() == before
    return response


HOSTILE = settings(
    max_examples=20,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@HOSTILE
@given(body=encoded_json(), content_type=CONTENT_TYPES, query=QUERY_STRINGS, request_id=REQUEST_IDS)
def test_json_apis_take_only_strict_json_and_never_fail(
    target, endpoint, body, content_type, query, request_id
):
    response = send_and_check(target, endpoint, body, content_type, query, request_id)

    if response.status_code < 400 and ENDPOINTS[endpoint][0] not in BODILESS:
        assert is_strict_json(body), (response.status_code, body[:300])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@HOSTILE
@given(body=ANY_BODY, content_type=CONTENT_TYPES, query=QUERY_STRINGS, request_id=REQUEST_IDS)
def test_any_body_and_content_type_is_never_a_5xx(
    target, endpoint, body, content_type, query, request_id
):
    send_and_check(target, endpoint, body, content_type, query, request_id)
