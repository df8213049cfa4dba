"""The favicon: linked from every page a person sees, and /favicon.ico never a 404."""

from django.test import Client

from tests.oauth_provider.flow import LOGIN, tags


def test_favicon_ico_leads_to_the_icon(db):
    client = Client()

    response = client.get("/favicon.ico")

    assert response.status_code == 302
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in icon.getvalue()


def test_pages_link_the_icon_from_static_files(db):
    client = Client()

    (link,) = tags(client.get(LOGIN), "link", rel="icon")

    assert link["type"] == "image/svg+xml"
    assert client.get(link["href"]).status_code == 200
