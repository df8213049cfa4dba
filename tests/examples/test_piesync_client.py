"""The reference partner client, run as a partner runs it, against a live server.

The client is a subprocess on a free port; the test plays the person at the browser: it
logs in on the live server, allows or denies on the consent page, and follows the
redirect to the client's callback, reading the page the client answers with.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from django.conf import settings

from oauth_provider.models import AccessToken
from subscriptions.models import Subscription
from tests.factories import CLIENT_SECRET, PASSWORD, ApplicationFactory
from tests.oauth_provider.flow import LOGIN, tags

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "transactional_db")

CLIENT = Path(settings.BASE_DIR) / "examples" / "piesync_client.py"
# A loopback IP redirect URI: the client's port may vary (RFC 8252 §7.3).
LOOPBACK_REDIRECT_URI = "http://127.0.0.1/callback"
WAIT = 20  # seconds for the client to print a line or end


@dataclass
class RunningClient:
    """examples/piesync_client.py in its own process; its stdout is read line by line."""

    process: subprocess.Popen[str]
    lines: "queue.Queue[str]" = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def line_containing(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=WAIT)
            if text in line:
                return line

    def authorize_url(self) -> str:
        return self.line_containing("/piesync/oauth/authorize/?").strip()

    def exit(self) -> tuple[int, str]:
        """Its exit status and what it wrote to stderr."""
        assert self.process.stderr is not None
        status = self.process.wait(timeout=WAIT)
        return status, self.process.stderr.read()


@pytest.fixture
def application():
    return ApplicationFactory.create(redirect_uris=LOOPBACK_REDIRECT_URI)


@pytest.fixture
def client_secret() -> str:
    return CLIENT_SECRET


@pytest.fixture
def partner(live_server, application, client_secret) -> Iterator[RunningClient]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(CLIENT),
            "--base-url",
            live_server.url,
            "--client-id",
            application.client_id,
            "--client-secret",
            client_secret,
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    yield RunningClient(process)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=WAIT)
    for stream in (process.stdout, process.stderr):
        assert stream is not None
        stream.close()


def hidden_fields(page: httpx.Response, **form: str) -> dict[str, str]:
    return {
        attributes["name"]: attributes.get("value", "")
        for attributes in tags(page, "input", form=form or None, type="hidden")
    }


def with_query(location: str, **changes: str | None) -> str:
    """`location` with query parameters replaced, added, or (None) removed."""
    url = urlsplit(location)
    query = {**dict(parse_qsl(url.query)), **changes}
    return url._replace(
        query=urlencode({name: value for name, value in query.items() if value is not None})
    ).geturl()


@dataclass
class Browser:
    """The person at the browser, on the live server and then the client's callback."""

    base_url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=WAIT))

    def log_in(self, user) -> None:
        page = self.http.get(f"{self.base_url}{LOGIN}")
        response = self.http.post(
            f"{self.base_url}{LOGIN}",
            data={**hidden_fields(page), "username": user.username, "password": PASSWORD},
        )
        assert response.status_code == 302, response.text

    def consent(self, authorize_url: str, *, site, allow: bool) -> str:
        """Allow or deny on the consent page; the redirect's Location."""
        page = self.http.get(authorize_url)
        assert page.status_code == 200, page.text
        choice = {"allow": "Authorize"} if allow else {}
        response = self.http.post(
            authorize_url,
            data={**hidden_fields(page, id="authorizationForm"), "site": str(site.uuid), **choice},
        )
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def follow(self, location: str) -> httpx.Response:
        return self.http.get(location)


@pytest.fixture
def browser(live_server, site) -> Iterator[Browser]:
    browser = Browser(live_server.url)
    browser.log_in(site.owner)
    yield browser
    browser.http.close()


def test_allow_connects_and_subscribes_the_clients_receiver(partner, browser, site, application):
    location = browser.consent(partner.authorize_url(), site=site, allow=True)

    page = browser.follow(location)

    assert page.status_code == 200
    assert page.text == f"Connected to {site.domain}. You can close this tab."
    partner.line_containing(f"Subscribed http://127.0.0.1:{urlsplit(location).port}/hook")
    subscription = Subscription.objects.get(site=site, application=application)
    assert subscription.url == f"http://127.0.0.1:{urlsplit(location).port}/hook"
    partner.process.send_signal(signal.SIGINT)
    assert partner.exit() == (0, "")


def test_a_second_callback_is_not_handled_again(partner, browser, site):
    location = browser.consent(partner.authorize_url(), site=site, allow=True)
    assert browser.follow(location).status_code == 200

    again = browser.follow(location)

    assert again.status_code == 409
    assert again.text == "This client has already handled its authorization response."


def test_deny_shows_the_error_in_the_browser_and_ends_with_it(partner, browser, site, application):
    location = browser.consent(partner.authorize_url(), site=site, allow=False)

    page = browser.follow(location)

    assert page.status_code == 400
    assert "Not connected" in page.text
    assert "access_denied" in page.text
    status, stderr = partner.exit()
    assert status == 1
    assert "authorization refused: access_denied" in stderr
    assert not AccessToken.objects.filter(application=application).exists()


def test_a_response_with_another_state_is_refused(partner, browser, site, application):
    """RFC 6749 §10.12: a response to a request this client did not send (CSRF)."""
    location = browser.consent(partner.authorize_url(), site=site, allow=True)

    page = browser.follow(with_query(location, state="someone-elses-state"))

    assert page.status_code == 400
    assert "state" in page.text
    status, stderr = partner.exit()
    assert status == 1
    assert "state" in stderr
    assert not AccessToken.objects.filter(application=application).exists()


def test_a_response_from_another_issuer_is_refused(partner, browser, site, application):
    """RFC 9207 §2.4: a mix-up; the code must not be sent to this server's token endpoint."""
    location = browser.consent(partner.authorize_url(), site=site, allow=True)

    page = browser.follow(with_query(location, iss="https://auth.attacker.example"))

    assert page.status_code == 400
    assert "https://auth.attacker.example" in page.text
    status, stderr = partner.exit()
    assert status == 1
    assert "https://auth.attacker.example" in stderr
    assert not AccessToken.objects.filter(application=application).exists()


def test_a_response_without_iss_is_refused(partner, browser, site, application):
    """RFC 9207 §2.4: the metadata says `iss` is always sent, so its absence is refused."""
    location = browser.consent(partner.authorize_url(), site=site, allow=True)

    page = browser.follow(with_query(location, iss=None))

    assert page.status_code == 400
    assert "iss" in page.text
    status, stderr = partner.exit()
    assert status == 1
    assert "iss" in stderr
    assert not AccessToken.objects.filter(application=application).exists()


@pytest.mark.parametrize("client_secret", ["not-the-client-secret"])
def test_a_failed_token_exchange_is_shown_in_the_browser(partner, browser, site, application):
    location = browser.consent(partner.authorize_url(), site=site, allow=True)

    page = browser.follow(location)

    assert page.status_code == 502
    assert page.text.startswith("Not connected: token exchange failed: 401")
    assert "invalid_client" in page.text
    status, stderr = partner.exit()
    assert status == 1
    assert "token exchange failed: 401" in stderr
    assert not Subscription.objects.exists()
