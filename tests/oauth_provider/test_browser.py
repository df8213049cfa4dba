"""The authorization flow in a real headless Chromium, against a live server.

Debian's Chromium, driven by Playwright: browsers cannot be downloaded here. A missing
browser fails this test; it never skips.
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from oauth_provider.models import Grant
from tests.factories import CLIENT_SECRET, PASSWORD, ApplicationFactory, SiteFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CALLBACK_PATH = "/piesync/callback"
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


@dataclass
class Receiver:
    """PieSync's redirect URI: a tiny HTTP server that records what the browser brings."""

    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != CALLBACK_PATH:
                self.send_error(404)
                return
            state.requests.append({key: values[0] for key, values in parse_qs(url.query).items()})
            state.arrived.set()
            body = b"<!doctype html><title>PieSync</title><p>Connected.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_login_pick_the_second_site_and_approve_in_chromium(
    live_server, transactional_db, receiver, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are
    # still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert CHROMIUM.exists(), f"Chromium is required at {CHROMIUM} (apt-get install chromium)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    user = UserFactory.create()
    SiteFactory.create(owner=user, domain="www.first-site.example.com", name="First Site")
    second = SiteFactory.create(
        owner=user, domain="www.second-site.example.com", name="Second Site"
    )
    application = ApplicationFactory.create(redirect_uris=receiver.url)
    query = {
        "client_id": application.client_id,
        "response_type": "code",
        "redirect_uri": receiver.url,
        "scope": "leadrouter:connect leadrouter:send",
        "state": "browser-state-1",
    }
    authorize = f"{live_server.url}/piesync/oauth/authorize/?{urlencode(query)}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(authorize)

            assert urlsplit(page.url).path == "/account/login/"
            assert page.locator("h1").inner_text() == "Log in to Real Geeks"
            page.screenshot(path=str(SCREENSHOTS / "login.png"), full_page=True)
            page.fill("#id_username", user.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit].primary")

            page.wait_for_url(f"{live_server.url}/piesync/oauth/authorize/**")
            assert page.locator("h1").inner_text() == f"Connect {application.name} to your website"
            radios = page.locator("input[type=radio][name=site]")
            assert radios.count() == 2
            radios.nth(1).check()
            page.screenshot(path=str(SCREENSHOTS / "consent.png"), full_page=True)
            page.click("button[name=allow]")

            page.wait_for_url(f"{receiver.url}**")
            assert "Connected." in page.content()
        finally:
            browser.close()

    assert receiver.arrived.wait(timeout=5)
    (landed,) = receiver.requests
    assert landed["state"] == "browser-state-1"
    assert landed["code"]
    assert landed["iss"] == live_server.url
    assert Grant.objects.get(code=landed["code"]).site == second
    assert (SCREENSHOTS / "login.png").stat().st_size > 0
    assert (SCREENSHOTS / "consent.png").stat().st_size > 0

    tokens = httpx.post(
        f"{live_server.url}/piesync/oauth/token/",
        data={
            "grant_type": "authorization_code",
            "code": landed["code"],
            "redirect_uri": receiver.url,
        },
        auth=(application.client_id, CLIENT_SECRET),
    )
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["site_uuid"] == str(second.uuid)
    assert tokens.json()["site_domain"] == second.domain
