"""Registering PieSync with django-oauth-toolkit's `createapplication` (docs/api.md)."""

from io import StringIO

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.test import Client

from oauth_provider.models import Application
from tests.factories import REDIRECT_URI
from tests.oauth_provider.flow import TOKEN, approve, basic_auth, signed_in

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def createapplication(*args: str) -> str:
    out = StringIO()
    call_command("createapplication", *args, stdout=out)
    return out.getvalue()


def register_piesync(redirect_uris: str = "https://x/cb") -> str:
    return createapplication(
        "confidential",
        "authorization-code",
        "--name",
        "PieSync",
        "--redirect-uris",
        redirect_uris,
        "--client-id",
        "abc",
        "--client-secret",
        "def",
    )


def test_createapplication_registers_piesync(db):
    output = register_piesync()

    assert "New application PieSync created successfully." in output
    application = Application.objects.get(client_id="abc")
    assert application.name == "PieSync"
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert application.redirect_uris == "https://x/cb"


def test_createapplication_stores_the_secret_hashed(db):
    register_piesync()

    stored = Application.objects.get(client_id="abc").client_secret
    assert stored.startswith("client_secret_sha256$")
    assert check_password("def", stored)


def test_createapplication_does_not_print_a_secret_it_was_given(db):
    output = register_piesync()

    assert "client_secret" not in output
    assert " def" not in output


def test_createapplication_prints_a_generated_secret_once(db):
    output = createapplication(
        "confidential",
        "authorization-code",
        "--name",
        "PieSync",
        "--redirect-uris",
        "https://x/cb",
    )

    secret = output.split("client_secret: ", 1)[1].strip()
    application = Application.objects.get(name="PieSync")
    assert check_password(secret, application.client_secret)


def test_createapplication_app_can_exchange_a_code(user, site):
    register_piesync(redirect_uris=REDIRECT_URI)
    application = Application.objects.get(client_id="abc")
    code = approve(signed_in(user), application, site)["code"]

    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=basic_auth("abc", "def"),
    )

    assert response.status_code == 200, response.content
    assert response.json()["site_uuid"] == str(site.uuid)


def test_createapplication_refuses_an_insecure_redirect_uri_in_production(db, production_mode):
    output = register_piesync(redirect_uris="http://x/cb")

    assert "http redirect URIs are allowed only on loopback" in output
    assert not Application.objects.exists()
