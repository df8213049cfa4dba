"""The Subscription admin: who is subscribed where, searchable, secrets never shown."""

import pytest
from django.test import Client

from subscriptions.models import Subscription
from tests.factories import (
    ApplicationFactory,
    SiteFactory,
    SubscriptionFactory,
    UserFactory,
    issue_access_token,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

CHANGELIST = "/admin/subscriptions/subscription/"
ALOHA_SECRET = "aloha-signing-secret-0001"
MAUI_SECRET = "maui-signing-secret-0002"


@pytest.fixture
def subscriptions(db):
    piesync = ApplicationFactory.create(name="PieSync")
    aloha = SubscriptionFactory.create(
        site=SiteFactory.create(domain="www.aloha-homes.example.com", owner=UserFactory.create()),
        application=piesync,
        url="https://hooks.piesync.test/aloha",
        secret=ALOHA_SECRET,
    )
    maui = SubscriptionFactory.create(
        site=SiteFactory.create(domain="www.maui-realty.example.com", owner=UserFactory.create()),
        application=ApplicationFactory.create(name="Zapier"),
        url="https://hooks.zapier.test/maui",
        secret=MAUI_SECRET,
        active=False,
    )
    return aloha, maui


def changelist(client: Client, **params: str) -> str:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return response.content.decode()


def test_changelist_shows_site_application_url_and_state(admin_client, subscriptions):
    page = changelist(admin_client)

    for text in (
        "www.aloha-homes.example.com",
        "www.maui-realty.example.com",
        "PieSync",
        "Zapier",
        "https://hooks.piesync.test/aloha",
        "https://hooks.zapier.test/maui",
    ):
        assert text in page
    assert 'alt="True"' in page and 'alt="False"' in page


def test_changelist_masks_secrets(admin_client, subscriptions):
    page = changelist(admin_client)

    assert ALOHA_SECRET not in page
    assert MAUI_SECRET not in page
    assert "•" * 8 in page


def test_changelist_filters_by_state(admin_client, subscriptions):
    page = changelist(admin_client, active__exact="0")

    assert "www.maui-realty.example.com" in page
    assert "www.aloha-homes.example.com" not in page


def test_changelist_filters_by_application(admin_client, subscriptions):
    aloha, _ = subscriptions

    page = changelist(admin_client, application__id__exact=str(aloha.application_id))

    assert "www.aloha-homes.example.com" in page
    assert "www.maui-realty.example.com" not in page


def test_search_by_site_domain(admin_client, subscriptions):
    page = changelist(admin_client, q="aloha-homes")

    assert "https://hooks.piesync.test/aloha" in page
    assert "https://hooks.zapier.test/maui" not in page


def test_search_by_url(admin_client, subscriptions):
    page = changelist(admin_client, q="hooks.zapier")

    assert "www.maui-realty.example.com" in page
    assert "www.aloha-homes.example.com" not in page


def test_search_by_site_uuid(admin_client, subscriptions):
    aloha, _ = subscriptions

    page = changelist(admin_client, q=str(aloha.site.uuid))

    assert "www.aloha-homes.example.com" in page
    assert "www.maui-realty.example.com" not in page


def test_deactivate_action(admin_client, subscriptions):
    aloha, maui = subscriptions
    maui.active = True
    maui.save()

    response = admin_client.post(
        CHANGELIST, {"action": "deactivate", "_selected_action": [aloha.pk, maui.pk]}
    )

    assert response.status_code == 302
    assert list(Subscription.objects.values_list("active", flat=True)) == [False, False]
    assert "Deactivated 2 subscription(s)." in changelist(admin_client)


def test_activate_action(admin_client, subscriptions):
    _, maui = subscriptions

    admin_client.post(CHANGELIST, {"action": "activate", "_selected_action": [maui.pk]})

    maui.refresh_from_db()
    assert maui.active is True


def test_change_form_edits_url_secret_and_state(admin_client, subscriptions):
    aloha, _ = subscriptions
    url = f"{CHANGELIST}{aloha.pk}/change/"
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(
        url,
        {
            "site": aloha.site_id,
            "application": aloha.application_id,
            "url": "https://hooks.piesync.test/aloha-v2",
            "secret": "rotated",
            # "active" unchecked: deactivate
        },
    )

    assert response.status_code == 302
    aloha.refresh_from_db()
    assert (aloha.url, aloha.secret, aloha.active) == (
        "https://hooks.piesync.test/aloha-v2",
        "rotated",
        False,
    )


def test_change_form_never_shows_the_secret(admin_client, subscriptions):
    aloha, _ = subscriptions

    page = admin_client.get(f"{CHANGELIST}{aloha.pk}/change/").content.decode()

    assert ALOHA_SECRET not in page
    assert aloha.secret_encrypted not in page
    assert 'type="password"' in page


def test_change_form_keeps_the_secret_when_left_blank(admin_client, subscriptions):
    aloha, _ = subscriptions

    response = admin_client.post(
        f"{CHANGELIST}{aloha.pk}/change/",
        {
            "site": aloha.site_id,
            "application": aloha.application_id,
            "url": "https://hooks.piesync.test/aloha-v2",
            "secret": "",
            "active": "on",
        },
    )

    assert response.status_code == 302
    aloha.refresh_from_db()
    assert (aloha.url, aloha.secret) == ("https://hooks.piesync.test/aloha-v2", ALOHA_SECRET)


def test_add_form_requires_a_secret(admin_client, db):
    piesync = ApplicationFactory.create()
    site = SiteFactory.create(owner=UserFactory.create())
    form = {"site": site.pk, "application": piesync.pk, "url": "https://hooks.piesync.test/new"}

    refused = admin_client.post(f"{CHANGELIST}add/", {**form, "secret": ""})
    created = admin_client.post(f"{CHANGELIST}add/", {**form, "secret": "new-secret"})

    assert refused.status_code == 200  # the form again, with the error
    assert "This field is required." in refused.content.decode()
    assert created.status_code == 302
    assert Subscription.objects.get().secret == "new-secret"


def test_change_form_refuses_a_secret_of_spaces(admin_client, subscriptions):
    aloha, _ = subscriptions

    response = admin_client.post(
        f"{CHANGELIST}{aloha.pk}/change/",
        {
            "site": aloha.site_id,
            "application": aloha.application_id,
            "url": aloha.url,
            "secret": "   ",
            "active": "on",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "This field cannot be blank." in response.content.decode()
    aloha.refresh_from_db()
    assert aloha.secret == ALOHA_SECRET


def test_change_form_refuses_a_second_subscription_for_the_same_site_and_application(
    admin_client, subscriptions
):
    aloha, _ = subscriptions

    response = admin_client.post(
        f"{CHANGELIST}add/",
        {
            "site": aloha.site_id,
            "application": aloha.application_id,
            "url": "https://hooks.piesync.test/dup",
            "secret": "dup",
            "active": "on",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert Subscription.objects.filter(site=aloha.site).count() == 1


def test_delete(admin_client, subscriptions):
    aloha, maui = subscriptions

    response = admin_client.post(f"{CHANGELIST}{aloha.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert list(Subscription.objects.all()) == [maui]


def partner_view(subscription: Subscription) -> dict:
    """What the subscription's partner GETs."""
    token = issue_access_token(site=subscription.site, application=subscription.application)
    response = Client().get(
        f"/piesync/subscription/{subscription.site.uuid}/", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    return response.json()


def test_the_partner_sees_a_deactivation_by_staff_and_a_reactivation(admin_client, subscriptions):
    aloha, _ = subscriptions

    admin_client.post(CHANGELIST, {"action": "deactivate", "_selected_action": [aloha.pk]})

    seen = partner_view(aloha)
    assert seen["active"] is False
    assert seen["deactivated_reason"] == "Deactivated by Real Geeks staff"
    assert seen["deactivated_at"]
    admin_client.post(CHANGELIST, {"action": "activate", "_selected_action": [aloha.pk]})
    assert set(partner_view(aloha)) == {"url", "secret"}


def test_the_partner_sees_a_deactivation_on_the_change_form(admin_client, subscriptions):
    aloha, _ = subscriptions

    admin_client.post(
        f"{CHANGELIST}{aloha.pk}/change/",
        {"site": aloha.site_id, "application": aloha.application_id, "url": aloha.url},
    )

    assert partner_view(aloha)["deactivated_reason"] == "Deactivated by Real Geeks staff"


def test_changelist_cuts_long_urls_and_domains_to_their_column_with_a_tooltip(
    admin_client, subscriptions
):
    aloha, _ = subscriptions
    url = "https://hooks.piesync.test/v2/realgeeks/webhooks/" + "0f8fd0c2a9d44c1e" * 6
    Subscription.objects.filter(pk=aloha.pk).update(url=url)

    page = changelist(admin_client)

    assert f'<span class="rg-truncate" title="{url}">{url}</span>' in page
    domain = "www.aloha-homes.example.com"
    assert f'<span class="rg-truncate" title="{domain}">{domain}</span>' in page
    assert "core/admin.css" in page


def test_changelist_sorts_by_site_domain_and_url(admin_client, subscriptions):
    by_domain = admin_client.get(CHANGELIST, {"o": "1"}).context["cl"].result_list
    by_url = admin_client.get(CHANGELIST, {"o": "-3"}).context["cl"].result_list

    assert [s.site.domain for s in by_domain] == [
        "www.aloha-homes.example.com",
        "www.maui-realty.example.com",
    ]
    assert [s.url for s in by_url] == [
        "https://hooks.zapier.test/maui",
        "https://hooks.piesync.test/aloha",
    ]
