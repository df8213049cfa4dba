"""The admin site as realgeeks/urls.py configures it: Real Geeks branding, a "View site"
link to a real page, no navigation sidebar."""

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def admin_page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("/admin/", "<title>Leads, sites and partners | Real Geeks admin</title>"),
        ("/admin/leads/delivery/", "<title>Select delivery to view | Real Geeks admin</title>"),
    ],
)
def test_admin_pages_carry_real_geeks_branding(admin_client, url, title):
    page = admin_page(admin_client, url)

    assert title in page
    assert '<a href="/admin/">Real Geeks admin</a>' in page
    assert "Django administration" not in page
    assert "Django site admin" not in page


def test_the_login_page_carries_the_branding_too(client):
    page = admin_page(client, "/admin/login/")

    assert "Real Geeks admin" in page
    assert "Django administration" not in page


def test_view_site_opens_the_connected_apps_page(admin_client):
    page = admin_page(admin_client, "/admin/")
    (href,) = re.findall(r'<a href="([^"]*)">View site</a>', page)

    assert href == reverse("oauth_provider:connected-apps")
    assert "<h1>Connected apps</h1>" in admin_page(admin_client, href)


def test_the_admin_has_no_navigation_sidebar(admin_client):
    """Its 300 px go to the change lists' columns (tests/leads/test_admin_browser.py)."""
    page = admin_page(admin_client, "/admin/leads/lead/")

    assert 'id="nav-sidebar"' not in page
