"""The Incoming Leads API (reference §4), seen from a client such as `leadrouter`."""

import base64
import io
import json
import uuid

import pytest
from django.test import Client

from leads.models import Activity, Lead, LeadEvent
from oauth_provider.models import Connection
from tests.factories import CLIENT_SECRET, ApplicationFactory, SiteFactory, issue_access_token
from tests.http import send
from tests.leads.samples import ACTIVITY, LEAD

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

# What the published client sends (reference §4.4).
CONTENT_TYPE = "application/json; charset=utf-8"


def basic(client_id: str, secret: str = CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def call(method, path, body=None, authorization=None, content_type=CONTENT_TYPE):
    """One request; `body` is sent as JSON unless it already is bytes or str."""
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return send(method, path, body, content_type=content_type, **extra)


def leads_path(site_uuid) -> str:
    return f"/rest/sites/{site_uuid}/leads"


def lead_path(site_uuid, lead_id) -> str:
    return f"/rest/sites/{site_uuid}/leads/{lead_id}"


def activities_path(site_uuid, lead_id) -> str:
    return f"/rest/sites/{site_uuid}/leads/{lead_id}/activities"


def potential_seller_path(site_uuid) -> str:
    return f"/rest/sites/{site_uuid}/potential-seller-leads"


def assert_error(response, status: int) -> str:
    """The response is `status` with a JSON object carrying an `error` message; returns it."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


def assert_invalid(response, field: str) -> None:
    """A 422 whose `error` string and `fields` both name `field`."""
    error = assert_error(response, 422)
    assert error.startswith("Invalid fields: ")
    assert field in error
    assert field in response.json()["fields"]


@pytest.fixture
def connection(site, application):
    return Connection.objects.create(site=site, application=application, connected_by=site.owner)


@pytest.fixture
def auth(connection, application) -> str:
    """HTTP Basic with the connected client's id and secret."""
    return basic(application.client_id)


@pytest.fixture
def lead(site):
    return Lead.objects.create(site=site, **LEAD)


def create(site, body=LEAD, authorization=None, **kwargs):
    return call("POST", leads_path(site.uuid), body, authorization, **kwargs)


def patch(site, lead_id, body, authorization):
    return call("PATCH", lead_path(site.uuid, lead_id), body, authorization)


# --- Success codes and bodies -------------------------------------------------------------


def test_create_lead_is_201_with_empty_object(site, auth):
    response = create(site, LEAD, auth)

    assert response.status_code == 201
    assert response.json() == {}
    lead = Lead.objects.get()
    assert lead.site == site
    assert {name: getattr(lead, name) for name in LEAD} == LEAD


def test_create_lead_without_id_generates_one(site, auth):
    create(site, LEAD, auth)

    assert isinstance(Lead.objects.get().id, uuid.UUID)


def test_create_lead_accepts_id_with_dashes(site, auth):
    lead_id = uuid.uuid4()

    response = create(site, {**LEAD, "id": str(lead_id)}, auth)

    assert response.status_code == 201
    assert Lead.objects.get().id == lead_id


def test_create_lead_accepts_id_without_dashes(site, auth):
    lead_id = uuid.uuid4()

    response = create(site, {**LEAD, "id": lead_id.hex}, auth)

    assert response.status_code == 201
    assert Lead.objects.get().id == lead_id


def test_create_lead_stores_its_activities(site, auth):
    response = create(site, {**LEAD, "activities": [ACTIVITY]}, auth)

    assert response.status_code == 201
    activity = Activity.objects.get()
    assert activity.lead == Lead.objects.get()
    assert (activity.type, activity.source, activity.description) == (
        "property_viewed",
        "Zillow",
        "Viewed 12 Main St",
    )


def test_create_lead_records_a_created_event(site, auth):
    create(site, LEAD, auth)

    assert list(LeadEvent.objects.values_list("action", flat=True)) == ["created"]


def test_patch_lead_is_200_with_empty_object(site, auth, lead):
    response = patch(site, lead.id, {"first_name": "Augusta"}, auth)

    assert response.status_code == 200
    assert response.json() == {}


def test_patch_lead_accepts_path_id_with_dashes(site, auth, lead):
    response = patch(site, str(lead.id), {"city": "Honolulu"}, auth)

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.city == "Honolulu"


def test_patch_lead_accepts_path_id_without_dashes(site, auth, lead):
    response = patch(site, lead.id.hex, {"city": "Honolulu"}, auth)

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.city == "Honolulu"


def test_patch_changes_only_the_keys_present(site, auth, lead):
    patch(site, lead.id, {"first_name": "Augusta", "role": "Seller"}, auth)

    lead.refresh_from_db()
    assert (lead.first_name, lead.role) == ("Augusta", "Seller")
    assert (lead.last_name, lead.email, lead.phone, lead.source) == (
        "Lovelace",
        "ada@example.com",
        "808-123-1234",
        "Zillow",
    )


def test_patch_with_empty_string_clears_the_field(site, auth, lead):
    patch(site, lead.id, {"phone": ""}, auth)

    lead.refresh_from_db()
    assert lead.phone == ""


def test_patch_adds_the_activities_in_its_body(site, auth, lead):
    response = patch(site, lead.id, {"activities": [ACTIVITY, {**ACTIVITY, "type": "note"}]}, auth)

    assert response.status_code == 200
    assert list(lead.activities.values_list("type", flat=True)) == ["property_viewed", "note"]


def test_add_activities_is_201_with_empty_object(site, auth, lead):
    response = call("POST", activities_path(site.uuid, lead.id), [ACTIVITY], auth)

    assert response.status_code == 201
    assert response.json() == {}
    assert lead.activities.count() == 1


def test_add_activities_accepts_path_id_without_dashes(site, auth, lead):
    response = call("POST", activities_path(site.uuid, lead.id.hex), [ACTIVITY], auth)

    assert response.status_code == 201
    assert lead.activities.count() == 1


def test_add_activities_stores_property_and_created(site, auth, lead):
    activity = {
        **ACTIVITY,
        "property": {"full_baths": 2, "city": "Honolulu"},
        "created": "2015-04-01T08:41:51+00:00",
    }

    call("POST", activities_path(site.uuid, lead.id), [activity], auth)

    stored = lead.activities.get()
    assert stored.property == {"full_baths": 2, "city": "Honolulu"}
    assert stored.created.isoformat() == "2015-04-01T08:41:51+00:00"


def test_potential_seller_lead_is_201_with_empty_object(site, auth):
    response = call("POST", potential_seller_path(site.uuid), {"source": "Valuation"}, auth)

    assert response.status_code == 201
    assert response.json() == {}


def test_potential_seller_lead_is_stored_with_role_potential_seller(site, auth):
    call("POST", potential_seller_path(site.uuid), {**LEAD, "role": "Seller"}, auth)

    assert Lead.objects.get().role == "Potential Seller"


def test_potential_seller_lead_accepts_role_potential_seller_in_its_body(site, auth):
    body = {**LEAD, "role": "Potential Seller"}

    response = call("POST", potential_seller_path(site.uuid), body, auth)

    assert response.status_code == 201
    assert Lead.objects.get().role == "Potential Seller"


def test_potential_seller_lead_requires_source(site, auth):
    response = call("POST", potential_seller_path(site.uuid), {"first_name": "Ada"}, auth)

    assert_invalid(response, "source")


def test_potential_seller_lead_accepts_id_without_dashes(site, auth):
    lead_id = uuid.uuid4()

    call("POST", potential_seller_path(site.uuid), {**LEAD, "id": lead_id.hex}, auth)

    assert Lead.objects.get().id == lead_id


def test_plain_application_json_content_type_works_too(site, auth):
    response = create(site, LEAD, auth, content_type="application/json")

    assert response.status_code == 201


# --- 404 and 409 ------------------------------------------------------------------------


def test_duplicate_lead_id_is_409(site, auth, lead):
    response = create(site, {**LEAD, "id": lead.id.hex}, auth)

    assert assert_error(response, 409) == f"A lead with the id {lead.id.hex} already exists"
    assert Lead.objects.count() == 1


def test_duplicate_lead_id_makes_no_event(site, auth, lead):
    create(site, {**LEAD, "id": str(lead.id)}, auth)

    assert not LeadEvent.objects.exists()


def test_patch_of_unknown_lead_is_404(site, auth):
    response = patch(site, uuid.uuid4(), {"city": "Hilo"}, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Lead not found"}


def test_patch_of_malformed_lead_id_is_404(site, auth):
    response = patch(site, "not-a-uuid", {"city": "Hilo"}, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Lead not found"}


def test_patch_of_another_sites_lead_is_404(site, auth, application):
    other_site = SiteFactory.create(owner=site.owner)
    Connection.objects.create(site=other_site, application=application)
    other_lead = Lead.objects.create(site=other_site, source="Zillow", city="Kona")

    response = patch(site, other_lead.id, {"city": "Hilo"}, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Lead not found"}
    other_lead.refresh_from_db()
    assert other_lead.city == "Kona"


def test_activities_for_unknown_lead_is_404(site, auth):
    response = call("POST", activities_path(site.uuid, uuid.uuid4()), [ACTIVITY], auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Lead not found"}


def test_unknown_site_is_404(auth):
    response = call("POST", leads_path(uuid.uuid4()), LEAD, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}


def test_malformed_site_uuid_is_404(auth):
    response = call("POST", leads_path("not-a-uuid"), LEAD, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}


def test_site_the_client_is_not_connected_to_is_404(site, auth):
    unconnected = SiteFactory.create(owner=site.owner)

    response = create(unconnected, LEAD, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}
    assert not Lead.objects.exists()


def test_site_connected_to_another_client_only_is_404(site, connection):
    other_application = ApplicationFactory.create()

    response = create(site, LEAD, basic(other_application.client_id))

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}


def test_disconnected_site_is_404(site, auth, connection):
    connection.delete()

    response = create(site, LEAD, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}
    assert not Lead.objects.exists()


def test_disconnected_site_rejects_patch_too(site, auth, connection, lead):
    connection.delete()

    response = patch(site, lead.id, {"city": "Hilo"}, auth)

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}


# --- Authentication -----------------------------------------------------------------------


def test_wrong_secret_is_401(site, connection, application):
    response = create(site, LEAD, basic(application.client_id, "wrong"))

    assert assert_error(response, 401) == "Invalid client credentials"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not Lead.objects.exists()


def test_unknown_client_is_401(site, connection):
    response = create(site, LEAD, basic("nobody"))

    assert assert_error(response, 401) == "Invalid client credentials"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_client_id_with_a_nul_byte_is_401_not_500(site, connection):
    response = create(site, LEAD, basic("piesync\x00"))

    assert assert_error(response, 401) == "Invalid client credentials"


@pytest.mark.parametrize(
    "header",
    ["Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"\xff\xfe:x").decode()],
    ids=["not-base64", "not-utf8"],
)
def test_malformed_basic_is_401(site, connection, header):
    response = create(site, LEAD, header)

    assert assert_error(response, 401) == "Malformed Basic credentials"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_no_credentials_is_401(site, connection):
    response = create(site, LEAD)

    assert assert_error(response, 401)
    assert "WWW-Authenticate" in response
    assert not Lead.objects.exists()


def test_bearer_token_with_send_scope_works_for_its_site(site, application):
    token = issue_access_token(site=site, application=application, scope="leadrouter:send")

    response = create(site, LEAD, f"Bearer {token}")

    assert response.status_code == 201
    assert response.json() == {}
    assert Lead.objects.get().site == site


def test_bearer_token_without_send_scope_is_403(site, application):
    token = issue_access_token(site=site, application=application, scope="leadrouter:connect")

    response = create(site, LEAD, f"Bearer {token}")

    assert assert_error(response, 403) == "The access token lacks the leadrouter:send scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert not Lead.objects.exists()


def test_bearer_token_for_another_site_is_404(site, application):
    other_site = SiteFactory.create(owner=site.owner)
    token = issue_access_token(site=other_site, application=application, scope="leadrouter:send")

    response = create(site, LEAD, f"Bearer {token}")

    assert response.status_code == 404
    assert response.json() == {"error": "Site not found"}
    assert not Lead.objects.exists()


def test_invalid_bearer_token_is_401(site):
    response = create(site, LEAD, "Bearer not-a-token")

    assert assert_error(response, 401) == "Invalid or expired access token"
    assert "WWW-Authenticate" in response


# --- 400, 413, 422 ----------------------------------------------------------------------


def test_invalid_json_is_400(site, auth):
    response = create(site, '{"source": ', auth)

    assert assert_error(response, 400) == "Invalid JSON body"


def test_json_that_is_not_an_object_is_400(site, auth):
    response = create(site, [LEAD], auth)

    assert assert_error(response, 400) == "Invalid JSON body: expected a JSON object"


def test_activities_body_that_is_not_an_array_is_400(site, auth, lead):
    response = call("POST", activities_path(site.uuid, lead.id), ACTIVITY, auth)

    assert assert_error(response, 400) == "Invalid JSON body: expected a JSON array of activities"


def lead_with_property(property_json: str) -> str:
    """A lead body whose one activity's `property` is the given JSON text, as sent."""
    activity = json.dumps(ACTIVITY)[:-1] + f', "property": {property_json}}}'
    return json.dumps(LEAD)[:-1] + f', "activities": [{activity}]}}'


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_a_non_finite_number_in_an_activity_property_is_400(site, auth, number):
    response = create(site, lead_with_property(f'{{"price": {number}}}'), auth)

    assert assert_error(response, 400) == (
        "Invalid JSON body: NaN, Infinity and numbers beyond 1.8e308 are not JSON numbers"
    )
    assert not Lead.objects.exists()


def test_nan_as_a_contact_field_is_400_not_stored_as_text(site, auth):
    response = create(site, '{"source": NaN}', auth)

    assert assert_error(response, 400).startswith("Invalid JSON body: NaN")
    assert not Lead.objects.exists()


def test_a_property_nested_400_levels_deep_is_400(site, auth):
    response = create(site, lead_with_property('{"a": ' * 400 + "1" + "}" * 400), auth)

    assert assert_error(response, 400) == "Invalid JSON body: nested deeper than 32 levels"
    assert not Lead.objects.exists()


def test_a_property_that_brings_the_body_to_32_levels_is_accepted(site, auth):
    # The lead object, the activities array and the activity are three levels.
    response = create(site, lead_with_property('{"a": ' * 29 + "1" + "}" * 29), auth)

    assert response.status_code == 201, response.content
    assert Activity.objects.get().property is not None


def test_a_body_nested_deeper_than_python_can_parse_is_400(site, auth):
    response = create(site, "[" * 100_000 + "]" * 100_000, auth)

    assert assert_error(response, 400) == "Invalid JSON body: nested deeper than 32 levels"


def test_a_name_twice_in_one_object_is_400(site, auth):
    response = create(site, '{"source": "Zillow", "source": "Trulia"}', auth)

    assert assert_error(response, 400) == "Invalid JSON body: a name appears twice in one object"
    assert not Lead.objects.exists()


def test_a_body_not_in_utf_8_is_400(site, auth):
    response = create(site, json.dumps(LEAD).encode("utf-16"), auth)

    assert assert_error(response, 400) == "Invalid JSON body: not UTF-8"
    assert not Lead.objects.exists()


def test_a_utf_8_byte_order_mark_is_ignored(site, auth):
    response = create(site, b"\xef\xbb\xbf" + json.dumps(LEAD).encode(), auth)

    assert response.status_code == 201, response.content
    assert Lead.objects.get().source == LEAD["source"]


def test_body_over_the_limit_is_413(site, auth, knobs):
    knobs.INCOMING_API_MAX_BODY_BYTES = 100

    response = create(site, {**LEAD, "source_details": "x" * 100}, auth)

    assert assert_error(response, 413) == "Request body too large (limit 100 bytes)"
    assert not Lead.objects.exists()


def test_chunked_body_over_the_limit_is_413(site, auth, knobs):
    # gunicorn hands a chunked body over with no Content-Length and a terminated stream.
    knobs.INCOMING_API_MAX_BODY_BYTES = 100
    data = json.dumps({**LEAD, "source_details": "x" * 100}).encode()

    response = Client().request(
        REQUEST_METHOD="POST",
        PATH_INFO=leads_path(site.uuid),
        CONTENT_TYPE=CONTENT_TYPE,
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=auth,
        **{"wsgi.input": io.BytesIO(data), "wsgi.input_terminated": True},
    )

    assert assert_error(response, 413) == "Request body too large (limit 100 bytes)"
    assert not Lead.objects.exists()


def test_body_at_the_limit_is_accepted(site, auth, knobs):
    body = json.dumps(LEAD)
    knobs.INCOMING_API_MAX_BODY_BYTES = len(body)

    response = create(site, body, auth)

    assert response.status_code == 201


def test_body_over_djangos_upload_limit_is_413_not_500(site, auth, knobs):
    knobs.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    knobs.INCOMING_API_MAX_BODY_BYTES = 10_000

    response = create(site, {**LEAD, "source_details": "x" * 2000}, auth)

    assert assert_error(response, 413)


def test_missing_source_is_422(site, auth):
    body = {key: value for key, value in LEAD.items() if key != "source"}

    response = create(site, body, auth)

    assert_invalid(response, "source")
    assert response.json()["error"] == "Invalid fields: source: This field is required."
    assert not Lead.objects.exists()


@pytest.mark.parametrize("role", ["Potential Seller", "Landlord", "buyer"])
def test_role_outside_the_documented_values_is_422(site, auth, role):
    response = create(site, {**LEAD, "role": role}, auth)

    assert_invalid(response, "role")


@pytest.mark.parametrize("role", ["Buyer", "Seller", "Buyer and Seller", "Renter"])
def test_documented_roles_are_accepted(site, auth, role):
    response = create(site, {**LEAD, "role": role}, auth)

    assert response.status_code == 201
    assert Lead.objects.get().role == role


@pytest.mark.parametrize("field", ["email", "second_email", "agent_email"])
def test_invalid_email_is_422(site, auth, field):
    response = create(site, {**LEAD, field: "not-an-email"}, auth)

    assert_invalid(response, field)


def test_email_longer_than_stored_is_422_not_500(site, auth):
    response = create(site, {**LEAD, "email": "a" * 250 + "@example.com"}, auth)

    assert_invalid(response, "email")


@pytest.mark.parametrize("lead_id", ["not-a-uuid", "1234", 42], ids=["word", "short", "number"])
def test_id_not_a_uuid_is_422(site, auth, lead_id):
    response = create(site, {**LEAD, "id": lead_id}, auth)

    assert_invalid(response, "id")


@pytest.mark.parametrize("missing", ["type", "source", "description"])
def test_activity_missing_a_required_field_is_422(site, auth, missing):
    activity = {key: value for key, value in ACTIVITY.items() if key != missing}

    response = create(site, {**LEAD, "activities": [activity]}, auth)

    assert_invalid(response, f"activities[0].{missing}")
    assert not Lead.objects.exists()


@pytest.mark.parametrize("missing", ["type", "source", "description"])
def test_activities_endpoint_rejects_activity_missing_a_field_with_422(site, auth, lead, missing):
    activity = {key: value for key, value in ACTIVITY.items() if key != missing}

    response = call("POST", activities_path(site.uuid, lead.id), [ACTIVITY, activity], auth)

    assert_invalid(response, f"[1].{missing}")
    assert not lead.activities.exists()


def test_activities_not_a_list_is_422(site, auth):
    response = create(site, {**LEAD, "activities": ACTIVITY}, auth)

    assert_invalid(response, "activities")


def test_activity_property_with_nul_character_is_422_not_500(site, auth, lead):
    activity = {**ACTIVITY, "property": {"remarks": "a\u0000b"}}

    response = call("POST", activities_path(site.uuid, lead.id), [activity], auth)

    assert_invalid(response, "[0].property")


def test_activity_property_with_a_lone_surrogate_is_422_not_500(site, auth, lead):
    # JSON's \udc00 escape decodes to a character UTF-8 cannot encode.
    body = '[{"type": "note", "source": "x", "description": "d", "property": {"k": "\\udc00"}}]'

    response = call("POST", activities_path(site.uuid, lead.id), body, auth)

    assert_invalid(response, "[0].property")
    assert not Activity.objects.exists()


def test_422_names_every_problem(site, auth):
    response = create(site, {"email": "nope", "role": "Landlord"}, auth)

    error = assert_error(response, 422)
    assert set(response.json()["fields"]) == {"source", "email", "role"}
    assert all(name in error for name in ("source", "email", "role"))


def test_patch_with_invalid_email_is_422_and_changes_nothing(site, auth, lead):
    response = patch(site, lead.id, {"email": "nope", "city": "Hilo"}, auth)

    assert_invalid(response, "email")
    lead.refresh_from_db()
    assert (lead.email, lead.city) == ("ada@example.com", "")


def test_patch_with_an_activity_missing_a_field_is_422(site, auth, lead):
    response = call("PATCH", lead_path(site.uuid, lead.id), {"activities": [{"type": "x"}]}, auth)

    assert_invalid(response, "activities[0].source")
    assert set(response.json()["fields"]) == {"activities[0].source", "activities[0].description"}


def test_patch_does_not_require_source(site, auth, lead):
    response = patch(site, lead.id, {"city": "Hilo"}, auth)

    assert response.status_code == 200


# --- OPTIONS ------------------------------------------------------------------------------


def test_options_is_answered_with_the_methods_its_allow_header_lists(site, auth, lead):
    for path, methods in [
        (leads_path(site.uuid), {"POST"}),
        (lead_path(site.uuid, lead.id), {"PATCH"}),
        (activities_path(site.uuid, lead.id), {"POST"}),
    ]:
        response = call("OPTIONS", path, authorization=auth)

        assert response.status_code == 200, path
        assert response.content == b""
        assert {m.strip() for m in response["Allow"].split(",")} == {*methods, "OPTIONS"}


# --- activity caps ------------------------------------------------------------------------


def activities(count: int) -> list[dict]:
    return [{**ACTIVITY, "description": f"Visit {n}"} for n in range(count)]


def assert_too_many_activities(response) -> str:
    assert_invalid(response, "activities")
    [message] = response.json()["fields"]["activities"]
    return message


def test_a_request_adding_more_activities_than_allowed_is_422_and_writes_nothing(
    site, auth, lead, knobs
):
    knobs.LEAD_REQUEST_MAX_ACTIVITIES = 3

    for response in (
        create(site, {**LEAD, "activities": activities(4)}, auth),
        patch(site, lead.id, {"city": "Hilo", "activities": activities(4)}, auth),
        call("POST", activities_path(site.uuid, lead.id), activities(4), auth),
    ):
        message = assert_too_many_activities(response)
        assert message == "A request may add at most 3 activities; this one has 4."

    assert Lead.objects.get().city == ""
    assert not Activity.objects.exists()
    assert call("POST", activities_path(site.uuid, lead.id), activities(3), auth).status_code == 201


def test_a_lead_holding_its_most_activities_refuses_more(site, auth, lead, knobs):
    knobs.LEAD_MAX_ACTIVITIES = 5
    path = activities_path(site.uuid, lead.id)
    assert call("POST", path, activities(4), auth).status_code == 201

    message = assert_too_many_activities(call("POST", path, activities(2), auth))

    assert message == "This lead holds 4 activities, and may hold at most 5: 1 more can be added."
    assert Activity.objects.count() == 4
    assert call("POST", path, activities(1), auth).status_code == 201
    assert_too_many_activities(
        patch(site, lead.id, {"city": "Hilo", "activities": activities(1)}, auth)
    )
    assert Lead.objects.get().city == ""
