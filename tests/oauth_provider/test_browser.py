"""The authorization flow and the pages a person sees, in a real headless Chromium against
a live server: at a phone's width and a laptop's, nothing overflows sideways, axe-core finds
no serious or critical violation, and a screenshot of each lands in artifacts/screenshots/.

Debian's Chromium, driven by Playwright: browsers cannot be downloaded here. A missing
browser fails this test; it never skips.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.db import connection, connections
from playwright.sync_api import Browser, Page, sync_playwright

from leads.models import DeliveryState
from oauth_provider.models import Connection, Grant
from sites.models import Site
from subscriptions.models import DEACTIVATED_BY_410
from subscriptions.services import subscription_deactivate
from tests.factories import (
    CLIENT_SECRET,
    PASSWORD,
    ApplicationFactory,
    SiteFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.leads.deliveries import hours_ago, make_deliveries

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
# A phone held upright, and a laptop.
WIDTHS = (375, 1280)
AXE = Axe()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright's sync API; a missing browser fails, never skips.

    While the block runs, Playwright's event loop runs in this thread, and Django keeps
    the ORM's connections per context then (asgiref's Local): the connections the
    block's queries opened are not the test's, and pytest-django never closes them.
    Closed here, or the test database cannot be dropped at the end of the run.
    """
    assert CHROMIUM.exists(), f"Chromium is required at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            connections.close_all()  # the loop's context's, back to the pool
            browser.close()


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

    with chromium() as browser:
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


def check_page(page: Page, name: str) -> None:
    """At each width: nothing overflows sideways, axe-core (the copy axe-playwright-python
    ships) finds no serious or critical violation, and a screenshot `<name>-<width>.png`."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        fit = page.evaluate(
            "() => ({scrollWidth: document.documentElement.scrollWidth,"
            " innerWidth: window.innerWidth})"
        )
        assert fit["scrollWidth"] <= fit["innerWidth"], (name, width, fit)
        results = AXE.run(page)
        serious = [
            violation
            for violation in results.response["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        assert not serious, f"{name} at {width} px: " + results.generate_report()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


# Each element's text, the characters after which its lines break, and whether it overflows.
LINE_BREAKS = """(selector) => [...document.querySelectorAll(selector)].map(element => {
    const characters = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rect = range.getClientRects()[0];
            if (rect) characters.push([node.data[i], rect.top]);
        }
    }
    const breaksAfter = [];
    for (let i = 1; i < characters.length; i++) {
        if (characters[i][1] > characters[i - 1][1] + 2) breaksAfter.push(characters[i - 1][0]);
    }
    return {
        text: element.textContent,
        breaksAfter: breaksAfter,
        overflows: element.scrollWidth > element.clientWidth,
    };
})"""

LONG_DOMAIN = "www.kailua-kona-oceanfront-luxury-homes-and-condominiums.example.com"
LONG_HOST = "hooks.us-west-2.partner-integrations.piesync-production.example.com"


def check_domains_wrap(page: Page) -> None:
    """At each width, the connected-apps table's domains and hosts stay in their cells and
    wrap only between words: after a dot or a hyphen."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        cells = page.evaluate(LINE_BREAKS, "td[data-label=Site], .host .breakable")
        assert {cell["text"] for cell in cells} >= {LONG_DOMAIN, LONG_HOST}
        for cell in cells:
            assert not cell["overflows"], (width, cell)
            assert set(cell["breaksAfter"]) <= {".", "-"}, (width, cell)
        long_one = next(cell for cell in cells if cell["text"] == LONG_DOMAIN)
        assert long_one["breaksAfter"], (width, long_one)  # it did have to wrap


def test_pages_fit_a_phone_and_a_laptop_and_pass_axe(
    live_server, transactional_db, receiver, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    user = UserFactory.create(username="leilani.kealoha-nakamura")
    long_site = SiteFactory.create(owner=user, domain=LONG_DOMAIN, name="Kailua-Kona Homes")
    paused_site = SiteFactory.create(owner=user, domain="www.maui-ranch-homes.example.com")
    piesync = ApplicationFactory.create(name="PieSync", redirect_uris=receiver.url)
    other = ApplicationFactory.create(name="Follow Up Boss")
    for site, application in [(long_site, piesync), (paused_site, piesync), (long_site, other)]:
        Connection.objects.create(site=site, application=application, connected_by=user)
    flowing = SubscriptionFactory.create(
        site=long_site, application=piesync, url=f"https://{LONG_HOST}/v2/h?t=x", secret="s"
    )
    make_deliveries(flowing, DeliveryState.DELIVERED, count=5, finished=hours_ago(1))
    make_deliveries(flowing, DeliveryState.PENDING, count=2, attempts=3, updated=hours_ago(2))
    paused = SubscriptionFactory.create(
        site=paused_site, application=piesync, url="https://hooks.piesync.test/h", secret="s"
    )
    subscription_deactivate(subscription_id=paused.pk, reason=DEACTIVATED_BY_410)
    query = {
        "client_id": piesync.client_id,
        "response_type": "code",
        "redirect_uri": receiver.url,
        "scope": "leadrouter:connect leadrouter:send",
        "state": "browser-state-2",
    }
    authorize = f"{live_server.url}/piesync/oauth/authorize/?{urlencode(query)}"

    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.goto(authorize)
        assert "PieSync is asking to connect" in page.locator("p.lead").inner_text()
        check_page(page, "login")

        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(f"{live_server.url}/piesync/oauth/authorize/**")
        assert page.locator("h2", has_text="What PieSync will receive").count() == 1
        check_page(page, "consent")

        page.goto(f"{live_server.url}/account/connected-apps/")
        assert page.locator("table.connections tbody tr").count() == 3
        assert page.locator(".status.failing").count() == 1
        assert page.locator(".status.paused").count() == 1
        assert page.locator(".status.none").count() == 1
        check_domains_wrap(page)
        check_page(page, "connected-apps")

        page.locator("a.button", has_text="Follow Up Boss").click()
        assert page.locator("h1").inner_text().startswith("Disconnect Follow Up Boss from")
        check_page(page, "disconnect")
        page.click("button.danger")
        assert "Disconnected Follow Up Boss from" in page.locator(".messages").inner_text()
        check_page(page, "connected-apps-disconnected")

        page.goto(authorize.replace(piesync.client_id, "not-a-client"))
        assert "Error code: invalid_request" in page.locator(".error-code").inner_text()
        check_page(page, "authorize-error")

    assert not Connection.objects.filter(application=other).exists()


def connections_in_use() -> int:
    """The pool's connections handed out and not given back."""
    stats = connection.pool.get_stats()  # type: ignore[attr-defined]  # PostgreSQL's
    return stats["pool_size"] - stats["pool_available"]


def test_a_browser_session_leaves_no_database_connection_behind(transactional_db, monkeypatch):
    """A query made while the browser runs takes a connection of its own (see chromium):
    it is given back with the browser."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.ensure_connection()
    before = connections_in_use()

    with chromium():
        assert Site.objects.count() == 0

    assert connections_in_use() == before
