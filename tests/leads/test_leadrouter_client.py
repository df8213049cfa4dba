"""The published `leadrouter` 2.0.2 Python client, unchanged, against a live server."""

import uuid

import leadrouter
import pytest

from leads.models import Lead, LeadEvent
from oauth_provider.models import Connection
from tests.factories import CLIENT_SECRET
from tests.leads.samples import ACTIVITY, LEAD

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "transactional_db")


@pytest.fixture
def client(live_server, site, application) -> leadrouter.Client:
    """The client as a partner builds it: host with its scheme, client id and secret."""
    Connection.objects.create(site=site, application=application, connected_by=site.owner)
    return leadrouter.Client(live_server.url, application.client_id, CLIENT_SECRET)


@pytest.fixture
def lead_id(client, site) -> uuid.UUID:
    lead_id = uuid.uuid4()
    client.create_lead(str(site.uuid), {**LEAD, "id": lead_id.hex})
    return lead_id


def test_create_lead_stores_it(client, site):
    lead_id = uuid.uuid4()

    result = client.create_lead(str(site.uuid), {**LEAD, "id": lead_id.hex})

    assert result is None
    lead = Lead.objects.get()
    assert (lead.id, lead.site) == (lead_id, site)
    assert {name: getattr(lead, name) for name in LEAD} == LEAD


def test_create_lead_records_a_created_event(client, site, lead_id):
    assert list(LeadEvent.objects.values_list("lead_id", "action")) == [(lead_id, "created")]


def test_create_lead_with_activities_stores_them(client, site):
    client.create_lead(str(site.uuid), {**LEAD, "activities": [ACTIVITY]})

    assert list(Lead.objects.get().activities.values_list("type", flat=True)) == ["property_viewed"]


def test_update_lead_changes_the_given_fields(client, site, lead_id):
    client.update_lead(str(site.uuid), lead_id.hex, {"phone": "808-555-0100"})

    lead = Lead.objects.get(pk=lead_id)
    assert (lead.phone, lead.first_name) == ("808-555-0100", "Ada")
    assert list(LeadEvent.objects.values_list("action", flat=True).order_by("created")) == [
        "created",
        "updated",
    ]


def test_update_lead_with_dashed_id(client, site, lead_id):
    client.update_lead(str(site.uuid), str(lead_id), {"city": "Hilo"})

    assert Lead.objects.get(pk=lead_id).city == "Hilo"


def test_add_activities_stores_them(client, site, lead_id):
    client.add_activities(str(site.uuid), lead_id.hex, [ACTIVITY, {**ACTIVITY, "type": "note"}])

    lead = Lead.objects.get(pk=lead_id)
    assert list(lead.activities.values_list("type", flat=True)) == ["property_viewed", "note"]
    assert list(LeadEvent.objects.values_list("action", flat=True)) == ["created"]


def test_create_potential_seller_lead_stores_role_potential_seller(client, site):
    client.create_potential_seller_lead(str(site.uuid), {"source": "Home valuation", **LEAD})

    assert Lead.objects.get().role == "Potential Seller"


def test_validation_error_raises_http_error_with_our_message(client, site):
    with pytest.raises(leadrouter.HTTPError) as raised:
        client.create_lead(str(site.uuid), {"first_name": "Ada"})

    assert raised.value.status_code == 422
    assert str(raised.value) == "Invalid fields: source: This field is required."
    assert not Lead.objects.exists()


def test_unknown_lead_raises_http_error_404(client, site):
    with pytest.raises(leadrouter.HTTPError) as raised:
        client.update_lead(str(site.uuid), uuid.uuid4().hex, {"city": "Hilo"})

    assert (raised.value.status_code, str(raised.value)) == (404, "Lead not found")


def test_duplicate_id_raises_http_error_409(client, site, lead_id):
    with pytest.raises(leadrouter.HTTPError) as raised:
        client.create_lead(str(site.uuid), {**LEAD, "id": str(lead_id)})

    assert raised.value.status_code == 409
    assert str(raised.value) == f"A lead with the id {lead_id.hex} already exists"


def test_wrong_secret_raises_http_error_401(live_server, site, application):
    Connection.objects.create(site=site, application=application)
    client = leadrouter.Client(live_server.url, application.client_id, "wrong")

    with pytest.raises(leadrouter.HTTPError) as raised:
        client.create_lead(str(site.uuid), LEAD)

    assert (raised.value.status_code, str(raised.value)) == (401, "Invalid client credentials")
