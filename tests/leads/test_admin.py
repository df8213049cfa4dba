"""Django admin: a change made there is an event like any other; the delivery log."""

import html
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from leads import services
from leads.delivery.job import deliver
from leads.models import (
    CONTACT_FIELDS,
    Activity,
    Delivery,
    DeliveryBacklog,
    DeliveryState,
    Lead,
    LeadEvent,
)
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

FIELDS = {"source": "Zillow", "first_name": "Ada", "email": "ada@example.com", "role": "Buyer"}

NO_ACTIVITIES = {
    "activities-TOTAL_FORMS": "0",
    "activities-INITIAL_FORMS": "0",
    "activities-MIN_NUM_FORMS": "0",
    "activities-MAX_NUM_FORMS": "1000",
}


@pytest.fixture
def subscription(site, application):
    return SubscriptionFactory.create(
        site=site, application=application, url="https://api.piesync.test/hook", secret="s3cret"
    )


@pytest.fixture
def lead(site):
    """An existing lead, stored directly: no event, delivery or job to start with."""
    return Lead.objects.create(site=site, **FIELDS)


def form_data(lead: Lead, **changes: str) -> dict[str, str]:
    """The change form as the browser posts it: every contact field, then the changes."""
    data = {name: getattr(lead, name) for name in CONTACT_FIELDS}
    return {**data, **NO_ACTIVITIES, **changes}


def add_data(site, **fields: str) -> dict[str, str]:
    data = {name: "" for name in CONTACT_FIELDS}
    return {**data, **NO_ACTIVITIES, "site": str(site.pk), **FIELDS, **fields}


def deliver_jobs():
    return ProcrastinateJob.objects.filter(task_name=deliver.name)


# --- Leads --------------------------------------------------------------------------------


def test_adding_a_lead_in_admin_creates_it(admin_client, site):
    response = admin_client.post(reverse("admin:leads_lead_add"), add_data(site))

    assert response.status_code == 302
    lead = Lead.objects.get()
    assert (lead.site, lead.first_name, lead.email) == (site, "Ada", "ada@example.com")


def test_adding_a_lead_in_admin_records_a_created_event_and_delivery(
    admin_client, site, subscription
):
    admin_client.post(reverse("admin:leads_lead_add"), add_data(site))

    lead = Lead.objects.get()
    event = LeadEvent.objects.get()
    assert (event.lead, event.action) == (lead, "created")
    assert json.loads(bytes(event.body))["first_name"] == "Ada"
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.subscription, delivery.state) == (
        event,
        subscription,
        DeliveryState.PENDING,
    )
    assert deliver_jobs().get().args["delivery_id"] == str(delivery.pk)


def test_adding_a_lead_with_an_inline_activity_sends_it_in_the_created_body(
    admin_client, site, subscription
):
    data = {
        **add_data(site),
        "activities-TOTAL_FORMS": "1",
        "activities-0-type": "note",
        "activities-0-source": "Agent",
        "activities-0-description": "Met at open house",
        "activities-0-property": "",
        "activities-0-created_0": "2015-04-01",
        "activities-0-created_1": "08:41:51",
    }

    response = admin_client.post(reverse("admin:leads_lead_add"), data)

    assert response.status_code == 302
    assert list(Activity.objects.values_list("description", flat=True)) == ["Met at open house"]
    body = json.loads(bytes(LeadEvent.objects.get().body))
    assert [activity["description"] for activity in body["activities"]] == ["Met at open house"]


def test_editing_a_contact_field_in_admin_records_an_updated_event_and_delivery(
    admin_client, lead, subscription
):
    url = reverse("admin:leads_lead_change", args=[lead.pk])

    response = admin_client.post(url, form_data(lead, phone="808-555-0100"))

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.phone == "808-555-0100"
    event = LeadEvent.objects.get()
    assert event.action == "updated"
    assert json.loads(bytes(event.body))["phone"] == "808-555-0100"
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.action, delivery.subscription) == (
        event,
        "updated",
        subscription,
    )


def test_saving_an_unchanged_lead_in_admin_records_no_event(admin_client, lead, subscription):
    url = reverse("admin:leads_lead_change", args=[lead.pk])

    response = admin_client.post(url, form_data(lead))

    assert response.status_code == 302
    assert not LeadEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert not deliver_jobs().exists()


def test_adding_an_inline_activity_to_an_unchanged_lead_records_no_event(
    admin_client, lead, subscription
):
    data = {
        **form_data(lead),
        "activities-TOTAL_FORMS": "1",
        "activities-0-lead": str(lead.pk),
        "activities-0-type": "note",
        "activities-0-source": "Agent",
        "activities-0-description": "Left a voicemail",
        "activities-0-property": "",
        "activities-0-created_0": "2015-04-01",
        "activities-0-created_1": "08:41:51",
    }

    response = admin_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)

    assert response.status_code == 302
    assert list(lead.activities.values_list("description", flat=True)) == ["Left a voicemail"]
    assert not LeadEvent.objects.exists()


def test_adding_an_activity_to_a_lead_at_its_cap_is_a_form_error(admin_client, lead, knobs):
    knobs.LEAD_MAX_ACTIVITIES = 1
    Activity.objects.create(lead=lead, type="note", source="Agent", description="Old")
    data = {
        **form_data(lead),
        "activities-TOTAL_FORMS": "1",
        "activities-0-lead": str(lead.pk),
        "activities-0-type": "note",
        "activities-0-source": "Agent",
        "activities-0-description": "One too many",
        "activities-0-property": "",
        "activities-0-created_0": "2015-04-01",
        "activities-0-created_1": "08:41:51",
    }

    response = admin_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)

    assert response.status_code == 200
    assert "may hold at most 1" in response.content.decode()
    assert list(lead.activities.values_list("description", flat=True)) == ["Old"]


def test_deleting_an_inline_activity_in_admin_removes_it(admin_client, lead):
    activity = Activity.objects.create(lead=lead, type="note", source="Agent", description="Old")
    data = {
        **form_data(lead),
        "activities-TOTAL_FORMS": "1",
        "activities-INITIAL_FORMS": "1",
        "activities-0-id": str(activity.pk),
        "activities-0-lead": str(lead.pk),
        "activities-0-type": "note",
        "activities-0-source": "Agent",
        "activities-0-description": "Old",
        "activities-0-property": "",
        "activities-0-created_0": activity.created.strftime("%Y-%m-%d"),
        "activities-0-created_1": activity.created.strftime("%H:%M:%S"),
        "activities-0-DELETE": "on",
    }

    response = admin_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)

    assert response.status_code == 302
    assert not Activity.objects.exists()


def test_invalid_admin_edit_changes_nothing(admin_client, lead, subscription):
    url = reverse("admin:leads_lead_change", args=[lead.pk])

    response = admin_client.post(url, form_data(lead, email="not-an-email"))

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.email == "ada@example.com"
    assert not LeadEvent.objects.exists()


def test_deleting_a_lead_in_admin_takes_its_pending_delivery_out_of_the_backlog(
    admin_client, site, subscription
):
    lead = services.lead_create(site=site, fields=FIELDS)

    response = admin_client.post(
        reverse("admin:leads_lead_delete", args=[lead.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Lead.objects.exists()
    assert DeliveryBacklog.objects.get(subscription=subscription).pending == 0


def test_deleting_selected_leads_in_admin_takes_their_pending_deliveries_out(
    admin_client, site, subscription
):
    leads = [services.lead_create(site=site, fields=FIELDS) for _ in range(2)]
    kept = services.lead_create(site=site, fields=FIELDS)

    response = admin_client.post(
        reverse("admin:leads_lead_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [lead.pk for lead in leads],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert list(Lead.objects.all()) == [kept]
    assert DeliveryBacklog.objects.get(subscription=subscription).pending == 1


def test_lead_changelist_searches_by_email(admin_client, lead):
    response = admin_client.get(reverse("admin:leads_lead_changelist"), {"q": "ada@example"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [lead]


# --- Delivery log -------------------------------------------------------------------------


@pytest.fixture
def deliveries(site, subscription):
    """One pending delivery (from a creation) and one failed one (from an update)."""
    lead = services.lead_create(site=site, fields=FIELDS)
    services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})
    pending = Delivery.objects.get(action="created")
    failed = Delivery.objects.get(action="updated")
    Delivery.objects.filter(pk=failed.pk).update(
        state=DeliveryState.FAILED, attempts=3, last_status_code=404, last_error="HTTP 404"
    )
    failed.refresh_from_db()
    return pending, failed


def test_delivery_changelist_lists_every_delivery(admin_client, deliveries):
    response = admin_client.get(reverse("admin:leads_delivery_changelist"))

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(deliveries)
    assert "HTTP 404" in response.content.decode()


def test_delivery_changelist_filters_by_state(admin_client, deliveries):
    _, failed = deliveries

    response = admin_client.get(
        reverse("admin:leads_delivery_changelist"), {"state__exact": "failed"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [failed]


def test_delivery_detail_shows_the_body_as_sent(admin_client, deliveries):
    _, failed = deliveries

    response = admin_client.get(reverse("admin:leads_delivery_change", args=[failed.pk]))

    assert response.status_code == 200
    assert failed.lead.id.hex in response.content.decode()


def test_redeliver_action_resets_a_failed_delivery_to_pending_and_queues_a_job(
    admin_client, deliveries
):
    _, failed = deliveries
    jobs_before = deliver_jobs().count()

    response = admin_client.post(
        reverse("admin:leads_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [str(failed.pk)], "index": "0"},
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.state, failed.finished) == (DeliveryState.PENDING, None)
    assert deliver_jobs().count() == jobs_before + 1
    newest = deliver_jobs().order_by("-id").first()
    assert newest.args["delivery_id"] == str(failed.pk)


def test_redeliver_action_skips_pending_deliveries(admin_client, deliveries):
    pending, _ = deliveries
    jobs_before = deliver_jobs().count()

    admin_client.post(
        reverse("admin:leads_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [str(pending.pk)], "index": "0"},
    )

    assert deliver_jobs().count() == jobs_before


def test_redeliver_action_queues_a_pending_delivery_whose_job_ended(admin_client, deliveries):
    """Its job failed (an error nothing caught) while the delivery was still pending:
    nothing else would ever send it."""
    pending, _ = deliveries
    with connection.cursor() as cursor:  # procrastinate's models are read-only
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE args->>'delivery_id' = %s",
            [str(pending.pk)],
        )
    Delivery.objects.filter(pk=pending.pk).update(attempts=4)

    response = admin_client.post(
        reverse("admin:leads_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [str(pending.pk)], "index": "0"},
        follow=True,
    )

    assert "Queued 1 deliveries again." in response.content.decode()
    jobs = deliver_jobs().filter(args__delivery_id=str(pending.pk)).order_by("id")
    lock = f"delivery:{pending.subscription_id}:{pending.lead_id}"
    assert [(job.status, job.lock) for job in jobs] == [("failed", lock), ("todo", lock)]
    pending.refresh_from_db()
    assert (pending.state, pending.attempts) == (DeliveryState.PENDING, 0)


def test_lead_changelist_finds_a_lead_by_its_dashless_id(admin_client, lead):
    response = admin_client.get(reverse("admin:leads_lead_changelist"), {"q": lead.id.hex})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [lead]


def test_delivery_changelist_searches_by_site_domain(admin_client, deliveries, site):
    response = admin_client.get(reverse("admin:leads_delivery_changelist"), {"q": site.domain})

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(deliveries)


def test_lead_changelist_finds_a_lead_by_its_dashed_id(admin_client, lead):
    response = admin_client.get(reverse("admin:leads_lead_changelist"), {"q": str(lead.id)})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [lead]


def test_delivery_changelist_finds_a_leads_deliveries_by_its_dashless_id(admin_client, deliveries):
    pending, _ = deliveries

    response = admin_client.get(
        reverse("admin:leads_delivery_changelist"), {"q": pending.lead_id.hex}
    )

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(deliveries)


def test_delivery_changelist_finds_a_delivery_by_its_message_id(admin_client, deliveries):
    _, failed = deliveries

    response = admin_client.get(reverse("admin:leads_delivery_changelist"), {"q": str(failed.pk)})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [failed]


def test_uuid_search_keeps_the_list_filter(admin_client, deliveries):
    pending, _ = deliveries

    response = admin_client.get(
        reverse("admin:leads_delivery_changelist"),
        {"q": pending.lead_id.hex, "state__exact": "failed"},
    )

    assert [delivery.state for delivery in response.context["cl"].result_list] == ["failed"]


def test_redeliver_action_queues_a_leads_deliveries_in_commit_order(admin_client, deliveries):
    """Their jobs share the lead's lock, which runs them in the order they were queued."""
    created, updated = deliveries
    Delivery.objects.filter(pk=created.pk).update(state=DeliveryState.FAILED)
    last_job = deliver_jobs().order_by("-id").values_list("id", flat=True).first()

    admin_client.post(
        reverse("admin:leads_delivery_changelist"),
        {
            "action": "redeliver",
            "_selected_action": [str(created.pk), str(updated.pk)],
            "index": "0",
        },
    )

    queued = deliver_jobs().filter(id__gt=last_job).order_by("id")
    assert [job.args["delivery_id"] for job in queued] == [str(created.pk), str(updated.pk)]


# --- What an admin sees -------------------------------------------------------------------


def property_boxes(page: str) -> list[str]:
    """The activity inline's Property boxes, in order, as the browser shows them."""
    return [
        html.unescape(text.strip())
        for text in re.findall(
            r'<textarea name="activities-\d+-property"[^>]*>(.*?)</textarea>', page, re.DOTALL
        )
    ]


def test_an_activity_without_a_property_shows_an_empty_property_box(admin_client, lead):
    Activity.objects.create(lead=lead, type="note", source="Agent", description="No property")
    Activity.objects.create(
        lead=lead, type="viewed", source="IDX", description="A house", property={"mls": "HI-1"}
    )

    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()

    assert property_boxes(page) == ["", '{"mls": "HI-1"}']
    assert '<textarea name="activities-0-description" cols="36" rows="2"' in page


def test_saving_an_empty_property_box_keeps_no_property(admin_client, lead):
    activity = Activity.objects.create(lead=lead, type="note", source="Agent", description="Old")
    data = {
        **form_data(lead),
        "activities-TOTAL_FORMS": "1",
        "activities-INITIAL_FORMS": "1",
        "activities-0-id": str(activity.pk),
        "activities-0-lead": str(lead.pk),
        "activities-0-type": "note",
        "activities-0-source": "Agent",
        "activities-0-description": "Edited",
        "activities-0-property": "",
        "activities-0-created_0": activity.created.strftime("%Y-%m-%d"),
        "activities-0-created_1": activity.created.strftime("%H:%M:%S"),
    }

    response = admin_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)

    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.description, activity.property) == ("Edited", None)


def test_lead_changelist_cuts_long_values_to_their_column_with_a_tooltip(admin_client, site):
    email = "leilani.kealoha-nakamura.north.shore.oahu@example.com"
    Lead.objects.create(site=site, source="Zillow", first_name="Leilani", email=email)

    page = admin_client.get(reverse("admin:leads_lead_changelist")).content.decode()

    assert f'<span class="rg-truncate" title="{email}">{email}</span>' in page
    assert f'<span class="rg-truncate" title="{site.domain}">{site.domain}</span>' in page
    assert "core/admin.css" in page


def test_the_role_filter_labels_are_capitalised_as_stored(admin_client, lead):
    page = admin_client.get(reverse("admin:leads_lead_changelist")).content.decode()

    assert "Buyer and Seller" in page
    assert "Buyer And Seller" not in page


def test_the_delivery_state_filter_labels_are_capitalised(admin_client, deliveries):
    page = admin_client.get(reverse("admin:leads_delivery_changelist")).content.decode()

    assert "Delivered, ignored (406)" in page
    assert "delivered, ignored" not in page


def test_delivery_changelist_names_the_partner_with_the_webhook_url_as_tooltip(
    admin_client, deliveries, site
):
    page = admin_client.get(reverse("admin:leads_delivery_changelist")).content.decode()

    tooltip = f"{site.domain} → https://api.piesync.test/hook"
    assert f'<span class="rg-truncate" title="{tooltip}">PieSync</span>' in page
    assert '<span class="rg-truncate" title="HTTP 404">HTTP 404</span>' in page


def test_delivery_titles_name_the_lead_and_the_partner(admin_client, deliveries):
    pending, failed = deliveries

    page = admin_client.get(
        reverse("admin:leads_delivery_change", args=[failed.pk])
    ).content.decode()

    assert str(pending) == "created · Ada → PieSync (pending)"
    assert "<title>updated · Ada → PieSync (failed) | View delivery | Real Geeks admin" in page
    assert "<h2>updated · Ada → PieSync (failed)</h2>" in page
    assert '<div class="readonly">updated · Ada</div>' in page  # its event


def test_a_delivery_whose_subscription_was_deleted_says_so(admin_client, deliveries):
    _, failed = deliveries
    failed.subscription.delete()

    page = admin_client.get(
        reverse("admin:leads_delivery_change", args=[failed.pk])
    ).content.decode()

    assert "<h2>updated · Ada → no subscription (failed)</h2>" in page


def test_delivery_body_is_indented_and_escaped(admin_client, site, subscription):
    services.lead_create(
        site=site, fields={**FIELDS, "first_name": "<script>alert(1)</script>", "city": "Hilo"}
    )
    delivery = Delivery.objects.get()

    page = admin_client.get(
        reverse("admin:leads_delivery_change", args=[delivery.pk])
    ).content.decode()

    (body,) = re.findall(r'<pre class="rg-json">(.*?)</pre>', page, re.DOTALL)
    assert body.startswith("{\n  &quot;action&quot;: &quot;created&quot;,\n")
    assert "\n  &quot;city&quot;: &quot;Hilo&quot;,\n" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in page
    assert json.loads(html.unescape(body)) == json.loads(bytes(delivery.event.body))


def test_delivery_changelist_queries_do_not_grow_with_its_rows(admin_client, deliveries, site):
    url = reverse("admin:leads_delivery_changelist")
    with CaptureQueriesContext(connection) as two_rows:
        admin_client.get(url)
    for _ in range(3):
        lead = services.lead_create(site=site, fields=FIELDS)
        services.lead_update(site=site, lead_id=lead.id, changes={"city": "Hilo"})

    with CaptureQueriesContext(connection) as eight_rows:
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == 8
    assert len(eight_rows) == len(two_rows)
