"""Drives the authorization-code flow over HTTP with Django's test client."""

import base64
import hashlib
import html
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client

from oauth_provider.models import Application
from sites.models import Site
from tests.factories import CLIENT_SECRET, PASSWORD, REDIRECT_URI

AUTHORIZE = "/piesync/oauth/authorize/"
TOKEN = "/piesync/oauth/token/"
SCOPE = "leadrouter:connect leadrouter:send"


def authorize_url(application: Application, **overrides: str | None) -> str:
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
    """A browser that logged in through the login form, as a person does."""
    client = Client()
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
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


METADATA = "/.well-known/oauth-authorization-server"
LOGIN = "/account/login/"
CONNECTED_APPS = "/account/connected-apps/"


class _TagCollector(HTMLParser):
    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag
        self.form: dict[str, str] | None = None
        self.found: list[tuple[dict[str, str], dict[str, str] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value if value is not None else "" for name, value in attrs}
        if tag == "form":
            self.form = attributes
        if tag == self.tag:
            self.found.append((attributes, self.form))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None


def tags(response, tag: str, *, form: dict[str, str] | None = None, **attrs: str):
    """The attributes of every `tag` element in an HTML response that has all of `attrs`.

    With `form`, only elements inside a <form> that has all of those attributes.
    """
    collector = _TagCollector(tag)
    collector.feed(response.content.decode())
    return [
        found
        for found, enclosing in collector.found
        if all(found.get(k) == v for k, v in attrs.items())
        and (form is None or (enclosing is not None and form.items() <= enclosing.items()))
    ]


def issuer(client: Client) -> str:
    """The issuer published in the RFC 8414 metadata, which RFC 9207's `iss` must equal."""
    return client.get(METADATA).json()["issuer"]


REVOKE = "/piesync/oauth/revoke_token/"
INTROSPECT = "/piesync/oauth/introspect/"


def obtain_tokens(application: Application, site: Site, **authorize_params: str) -> dict:
    """Consent as the site's owner and exchange the code: the token endpoint's JSON body."""
    redirect = approve(signed_in(site.owner), application, site, **authorize_params)
    response = exchange_code(Client(), application, redirect["code"])
    assert response.status_code == 200, response.content
    return response.json()


def introspect(application: Application, token: str, secret: str = CLIENT_SECRET):
    """RFC 7662 §2.1: the client authenticates and POSTs the token."""
    return Client().post(
        INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret)
    )


def revoke(application: Application, token: str, **extra: str):
    """RFC 7009 §2.1: the client authenticates and POSTs the token (and an optional hint)."""
    return Client().post(
        REVOKE, {"token": token, **extra}, HTTP_AUTHORIZATION=basic_auth(application.client_id)
    )


def page_text(response) -> str:
    """An HTML response's markup with entities decoded, to look for what a user reads;
    without the <wbr> line-break hints, which nobody sees (a domain reads whole)."""
    return html.unescape(response.content.decode().replace("<wbr>", ""))


def signed_in(user) -> Client:
    """A browser session for `user`, without paying for a password check."""
    client = Client()
    client.force_login(user)
    return client
