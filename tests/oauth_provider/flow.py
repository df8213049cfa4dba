"""Drives the authorization-code flow over HTTP with Django's test client."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client

from oauth_provider.models import Application
from sites.models import Site
from tests.factories import CLIENT_SECRET, PASSWORD, REDIRECT_URI

AUTHORIZE = "/piesync/oauth/authorize/"
TOKEN = "/piesync/oauth/token/"
SCOPE = "leadrouter:connect leadrouter:send"


def authorize_url(application: Application, **overrides: str) -> str:
    params = {
        "client_id": application.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": "xyz-state",
        **overrides,
    }
    return f"{AUTHORIZE}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def logged_in_client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def consent_form(response) -> dict[str, str]:
    """The hidden fields of the rendered consent form, as a browser would post them."""
    form = response.context["form"]
    return {
        name: field.value() or "" for name, field in ((f.name, f) for f in form) if field.is_hidden
    }


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def approve(
    client: Client, application: Application, site: Site, **authorize_params: str
) -> dict[str, str]:
    """Consent for `site`; returns the query string PieSync's redirect URI receives."""
    url = authorize_url(application, **authorize_params)
    page = client.get(url)
    assert page.status_code == 200, page.content
    response = client.post(
        url, {**consent_form(page), "site": str(site.uuid), "allow": "Authorize"}
    )
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(REDIRECT_URI)
    return query_of(response["Location"])


def basic_auth(client_id: str, secret: str = CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def exchange_code(client: Client, application: Application, code: str, **extra: str):
    return client.post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **extra},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )


def refresh(client: Client, application: Application, refresh_token: str):
    return client.post(
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> "Pkce":
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())
