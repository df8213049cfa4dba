"""The bench's set-based seeding writes rows the service itself accepts: a schema change
that the seeding SQL missed fails here, not in the middle of `make bench`."""

import base64

import pytest
from django.test import Client

from bench.seed import LEADS_PER_SITE, SEED_DOMAIN, seed_to
from leads.models import Delivery, DeliveryState, Lead, LeadEvent
from sites.models import Site
from tests.factories import CLIENT_SECRET

pytestmark = pytest.mark.django_db(transaction=True)  # VACUUM cannot run in a transaction


def seeded_site(number: int) -> Site:
    return Site.objects.get(domain=f"site-{number}{SEED_DOMAIN}")


def test_each_seeded_site_has_its_leads_each_with_an_event_and_a_delivered_delivery(
    application,
):
    seeded = seed_to(sites=3, application=application)

    assert seeded.sites == 3
    assert seeded.leads == Lead.objects.count() == 3 * LEADS_PER_SITE
    assert LeadEvent.objects.filter(action="created").count() == 3 * LEADS_PER_SITE
    assert Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == 3 * LEADS_PER_SITE
    assert Lead.objects.filter(site=seeded_site(2)).count() == LEADS_PER_SITE


def test_seeding_again_adds_only_the_missing_sites(application):
    seed_to(sites=2, application=application)

    assert seed_to(sites=5, application=application).sites == 5
    assert seed_to(sites=5, application=application).leads == 5 * LEADS_PER_SITE


def test_the_client_credentials_create_a_lead_on_a_seeded_site(application):
    seed_to(sites=2, application=application)
    credentials = base64.b64encode(f"{application.client_id}:{CLIENT_SECRET}".encode()).decode()

    response = Client().post(
        f"/rest/sites/{seeded_site(2).uuid}/leads",
        {"source": "bench"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 201


def test_a_seeded_access_token_reads_its_sites_subscription_with_the_secret(application):
    seed_to(sites=2, application=application)
    site = seeded_site(2)

    # A seeded token's value is "seed-access-<site id>" (its stored checksum's input).
    response = Client().get(
        f"/piesync/subscription/{site.uuid}/", HTTP_AUTHORIZATION=f"Bearer seed-access-{site.pk}"
    )

    assert response.status_code == 200
    assert response.json() == {
        "url": f"https://hooks.partner.example/realgeeks/{site.pk}",
        "secret": "seed-subscription-secret",
    }


def test_a_seeded_refresh_token_is_exchanged_for_tokens_of_its_site(application):
    seed_to(sites=2, application=application)
    site = seeded_site(1)
    credentials = base64.b64encode(f"{application.client_id}:{CLIENT_SECRET}".encode()).decode()

    response = Client().post(
        "/piesync/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": f"seed-refresh-{site.pk}"},
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 200
    assert response.json()["site_uuid"] == str(site.uuid)
