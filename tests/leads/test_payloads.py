"""The outgoing lead JSON (reference §2): what PieSync receives."""

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from leads import services
from leads.models import CONTACT_FIELDS, Lead
from leads.payloads import lead_body, lead_document, rfc3339

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

FIELDS = {
    "source": "Zillow",
    "source_details": "Listing 12 Main St",
    "email": "ada@example.com",
    "second_email": "charles@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "808-123-1234",
    "phone2": "(808) 123-1235",
    "address": "12 Main St, Honolulu, HI 96815",
    "street_address": "12 Main St",
    "city": "Honolulu",
    "state": "HI",
    "zip": "96815",
    "role": "Buyer and Seller",
    "region": "Oahu",
    "agent_name": "Ben Harper",
    "agent_email": "ben@example.com",
}


@pytest.fixture
def lead(site):
    return services.lead_create(
        site=site,
        fields=FIELDS,
        activities=[
            services.ActivityData(
                type="property_viewed",
                source="IDX",
                description="Viewed 12 Main St",
                property={"full_baths": 2},
                created=datetime(2015, 4, 1, 8, 41, 51, tzinfo=UTC),
            ),
            services.ActivityData(type="note", source="Agent", description="Called back"),
        ],
    )


@pytest.fixture
def document(lead):
    return json.loads(lead_body(Lead.objects.get(pk=lead.pk), action="created"))


def test_body_has_exactly_the_documented_keys(document):
    assert set(document) == {
        "action",
        "id",
        "site_uuid",
        "site_domain",
        "created",
        *CONTACT_FIELDS,
        "activities",
    }


def test_action_is_the_given_one(lead):
    assert json.loads(lead_body(lead, action="updated"))["action"] == "updated"


def test_id_is_32_lowercase_hex_without_dashes(document, lead):
    assert re.fullmatch(r"[0-9a-f]{32}", document["id"])
    assert document["id"] == lead.id.hex


def test_site_uuid_has_dashes(document, site):
    assert document["site_uuid"] == str(site.uuid)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", document["site_uuid"]
    )


def test_site_domain_is_the_sites(document, site):
    assert document["site_domain"] == site.domain


def test_created_is_rfc3339_utc_with_z(document, lead):
    assert RFC3339_UTC.match(document["created"])
    assert datetime.fromisoformat(document["created"].replace("Z", "+00:00")) == lead.created


def test_every_contact_field_is_sent_with_its_value(document):
    assert {name: document[name] for name in FIELDS} == FIELDS


def test_role_and_source_are_sent(document):
    assert (document["role"], document["source"]) == ("Buyer and Seller", "Zillow")


def test_empty_contact_fields_are_sent_as_empty_strings(site):
    lead = services.lead_create(site=site, fields={"source": "Zillow"})

    document = lead_document(lead, action="created")

    assert document["email"] == ""
    assert document["role"] == ""


def test_activities_are_sent_in_order_with_their_fields(document):
    assert document["activities"][0] == {
        "type": "property_viewed",
        "source": "IDX",
        "description": "Viewed 12 Main St",
        "property": {"full_baths": 2},
        "created": "2015-04-01T08:41:51.000000Z",
    }
    assert document["activities"][1]["type"] == "note"


def test_activity_without_property_omits_the_key(document):
    note = document["activities"][1]

    assert "property" not in note
    assert RFC3339_UTC.match(note["created"])


def test_body_is_utf8_json_that_round_trips_non_ascii(site):
    lead = services.lead_create(site=site, fields={"source": "Zillow", "first_name": "Kāne"})

    body = lead_body(lead, action="created")

    assert isinstance(body, bytes)
    assert json.loads(body.decode("utf-8"))["first_name"] == "Kāne"


def test_rfc3339_converts_other_offsets_to_utc():
    moment = datetime(2015, 10, 1, 16, 14, 1, 597026, tzinfo=timezone(timedelta(hours=10)))

    assert rfc3339(moment) == "2015-10-01T06:14:01.597026Z"


# --- the activities cap -------------------------------------------------------------------


def notes(count: int) -> list[services.ActivityData]:
    """`count` activities an hour apart, the last one the most recent."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        services.ActivityData(
            type="note", source="Agent", description=f"note {n}", created=start + timedelta(hours=n)
        )
        for n in range(count)
    ]


def sent_descriptions(document) -> list[str]:
    return [activity["description"] for activity in document["activities"]]


def test_an_updated_event_carries_the_most_recent_activities_and_the_total(site, knobs):
    knobs.LEAD_PAYLOAD_MAX_ACTIVITIES = 3
    lead = services.lead_create(site=site, fields={"source": "Zillow"})
    services.activities_add(site=site, lead_id=lead.pk, activities=list(reversed(notes(5))))

    services.lead_update(site=site, lead_id=lead.pk, changes={"first_name": "Ada"})

    document = json.loads(bytes(lead.events.get(action="updated").body))
    assert sent_descriptions(document) == ["note 2", "note 3", "note 4"]  # oldest first
    assert document["activities_total"] == 5


def test_a_created_event_is_capped_too(site, knobs):
    knobs.LEAD_PAYLOAD_MAX_ACTIVITIES = 3

    lead = services.lead_create(site=site, fields={"source": "Zillow"}, activities=notes(4))

    document = json.loads(bytes(lead.events.get().body))
    assert sent_descriptions(document) == ["note 1", "note 2", "note 3"]
    assert document["activities_total"] == 4


def test_at_the_cap_the_body_has_no_total(site, knobs):
    knobs.LEAD_PAYLOAD_MAX_ACTIVITIES = 3

    lead = services.lead_create(site=site, fields={"source": "Zillow"}, activities=notes(3))

    document = json.loads(bytes(lead.events.get().body))
    assert len(document["activities"]) == 3
    assert "activities_total" not in document
