"""The Site admin: searchable by domain, name and owner."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import SiteFactory, UserFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def sites(db):
    aloha = SiteFactory.create(
        domain="www.aloha-homes.example.com",
        name="Aloha Homes",
        owner=UserFactory.create(username="kaimana"),
    )
    maui = SiteFactory.create(
        domain="www.maui-realty.example.com",
        name="Maui Realty",
        owner=UserFactory.create(username="leilani"),
    )
    return aloha, maui


def search(client: Client, query: str) -> str:
    response = client.get(reverse("admin:customer_sites_site_changelist"), {"q": query})
    assert response.status_code == 200
    return response.content.decode()


def test_changelist_lists_sites(admin_client, sites):
    page = search(admin_client, "")

    assert "www.aloha-homes.example.com" in page
    assert "www.maui-realty.example.com" in page


def test_search_by_domain(admin_client, sites):
    page = search(admin_client, "aloha-homes")

    assert "www.aloha-homes.example.com" in page
    assert "www.maui-realty.example.com" not in page


def test_search_by_name(admin_client, sites):
    page = search(admin_client, "Maui Realty")

    assert "www.maui-realty.example.com" in page
    assert "www.aloha-homes.example.com" not in page


def test_search_by_owner_username(admin_client, sites):
    page = search(admin_client, "kaimana")

    assert "www.aloha-homes.example.com" in page
    assert "www.maui-realty.example.com" not in page


def test_search_by_uuid(admin_client, sites):
    aloha, _ = sites

    page = search(admin_client, str(aloha.uuid))

    assert "www.aloha-homes.example.com" in page
    assert "www.maui-realty.example.com" not in page


def test_search_with_a_non_uuid_does_not_fail(admin_client, sites):
    page = search(admin_client, "not-a-uuid")

    assert "0 sites" in page


def test_change_page_renders(admin_client, sites):
    aloha, _ = sites

    response = admin_client.get(reverse("admin:customer_sites_site_change", args=[aloha.pk]))

    assert response.status_code == 200
    assert str(aloha.uuid) in response.content.decode()


def test_add_page_renders(admin_client):
    response = admin_client.get(reverse("admin:customer_sites_site_add"))

    assert response.status_code == 200


def test_non_staff_users_cannot_see_sites(sites):
    client = Client()
    client.force_login(sites[0].owner)

    response = client.get(reverse("admin:customer_sites_site_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
