"""The admin's change lists and the lead change form in a real Chromium at 1280 px, and
the delivery health page at 375 and 1280 px.

What an admin sees on a laptop: every column without scrolling sideways, and a lead's
activities compact; the health page also on a phone, passing axe-core. Debian's
Chromium, driven by Playwright, as in tests/oauth_provider/test_browser.py; a missing
browser fails this test, never skips.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page

from leads import services
from leads.models import Delivery, DeliveryState, Lead
from subscriptions.models import Subscription
from tests.factories import ApplicationFactory, SiteFactory, SubscriptionFactory, UserFactory
from tests.leads.deliveries import hours_ago, make_deliveries
from tests.oauth_provider.test_browser import SCREENSHOTS, check_page, chromium

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

WIDTH = 1280
# The lead change form with three activities: one screen and a half, not three.
MAX_LEAD_FORM_HEIGHT = 1400

LONG_DOMAINS = [
    "www.kailua-kona-oceanfront-luxury-homes-and-condominiums.example.com",
    "www.north-shore-oahu-haleiwa-sunset-beach-real-estate-group.example.com",
    "www.maui-upcountry-kula-makawao-ranch-and-farm-properties.example.com",
]
LONG_URLS = [
    "https://hooks.piesync.test/v2/realgeeks/webhooks/0f8fd0c2a9d44c1e8f6a3b5d7e9f1a2b"
    "/leads?account=kailua-kona-oceanfront&connection=8c1d4e5f6a7b8c9d0e1f2a3b4c5d6e7f",
    "https://hooks.piesync.test/v2/realgeeks/webhooks/1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
    "/leads?account=north-shore-oahu-haleiwa&connection=9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a",
    "https://hooks.piesync.test/v2/realgeeks/webhooks/2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e"
    "/leads?account=maui-upcountry-kula&connection=0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b",
]
NAMES = [
    ("Jack", "Johnson", "jack.johnson.kailua.kona.oceanfront@example.com"),
    ("Leilani", "Kealoha-Nakamura", "leilani.kealoha-nakamura.north.shore@example.com"),
    ("Kainoa", "Makoa", "kainoa.makoa.upcountry.ranch.buyer@example.com"),
]


@pytest.fixture
def admin_page(live_server, transactional_db, monkeypatch) -> Iterator[Page]:
    """A logged-in superuser's page, 1280 px wide, and a few rows of realistic data."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls are still
    # synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin = User.objects.create_superuser("admin", "admin@example.com", "admin-password")
    client = Client()
    client.force_login(admin)
    piesync = ApplicationFactory.create(name="PieSync")
    for domain, url, (first, last, email) in zip(LONG_DOMAINS, LONG_URLS, NAMES, strict=True):
        site = SiteFactory.create(domain=domain, owner=UserFactory.create())
        SubscriptionFactory.create(site=site, application=piesync, url=url, secret="s3cret")
        lead = services.lead_create(
            site=site,
            fields={
                "source": "Zillow Premier Agent",
                "first_name": first,
                "last_name": last,
                "email": email,
                "role": "Buyer and Seller",
            },
            activities=activities(),
        )
        services.lead_update(site=site, lead_id=lead.id, changes={"city": "Kailua-Kona"})
    Delivery.objects.filter(action="updated").update(
        state=DeliveryState.FAILED,
        attempts=6,
        last_status_code=503,
        last_error="HTTP 503 from hooks.piesync.test: Service Temporarily Unavailable " * 3,
    )
    with chromium() as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": 800})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page


def activities() -> list[services.ActivityData]:
    return [
        services.ActivityData(
            type="property_viewed",
            source="Real Geeks IDX",
            description="Viewed 75-5660 Kopiko St, Kailua-Kona: 3 bd, 2 ba, ocean view",
            property={"mls": "HI-723915", "price": 1250000, "beds": 3, "baths": 2},
            created=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        ),
        services.ActivityData(
            type="note",
            source="Agent",
            description="Called back, wants a showing on Saturday morning.",
            created=datetime(2025, 3, 2, 10, 0, tzinfo=UTC),
        ),
        services.ActivityData(
            type="search",
            source="Real Geeks IDX",
            description="Saved search: Kailua-Kona, 3+ bd, under $1.5M",
            created=datetime(2025, 3, 3, 11, 15, tzinfo=UTC),
        ),
    ]


def horizontal_fit(page: Page) -> dict[str, Any]:
    """The page's width, and the table's: the admin scrolls a wide table inside its box
    (`.results`), so the page itself never overflows; the table must fit that box."""
    return page.evaluate(
        """() => {
            const box = document.querySelector('#changelist .results');
            const last = document.querySelector('#result_list thead th:last-child');
            return {
                scrollWidth: document.documentElement.scrollWidth,
                innerWidth: window.innerWidth,
                boxScrollWidth: box.scrollWidth,
                boxClientWidth: box.clientWidth,
                boxRight: box.getBoundingClientRect().right,
                lastHeaderRight: last.getBoundingClientRect().right,
                columns: [...document.querySelectorAll('#result_list thead th')].map(
                    th => [th.className, Math.round(th.getBoundingClientRect().width)]),
            };
        }"""
    )


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:subscriptions_subscription_changelist",
        "admin:leads_lead_changelist",
        "admin:leads_delivery_changelist",
        "admin:customer_sites_site_changelist",
    ],
)
def test_changelist_fits_1280_px(admin_page, live_server, changelist):
    page = admin_page
    page.goto(live_server.url + reverse(changelist))
    name = changelist.split(":")[1]
    page.screenshot(path=str(SCREENSHOTS / f"admin-{name}-1280.png"), full_page=True)

    fit = horizontal_fit(page)

    assert page.locator("#result_list tbody tr").count() >= 3
    assert fit["scrollWidth"] <= fit["innerWidth"], fit
    assert fit["boxScrollWidth"] <= fit["boxClientWidth"], fit
    assert fit["lastHeaderRight"] <= min(fit["boxRight"], fit["innerWidth"]), fit


def test_lead_change_form_is_compact(admin_page, live_server):
    page = admin_page
    lead = Lead.objects.get(first_name="Jack")
    page.goto(live_server.url + reverse("admin:leads_lead_change", args=[lead.pk]))
    page.screenshot(path=str(SCREENSHOTS / "admin-lead-change-1280.png"), full_page=True)

    size = page.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            scrollHeight: document.documentElement.scrollHeight,
            innerWidth: window.innerWidth,
            inlineRight: document.querySelector('#activities-group table')
                .getBoundingClientRect().right,
            groupRight: document.querySelector('#activities-group')
                .getBoundingClientRect().right,
        })"""
    )

    assert page.locator("#activities-group tbody tr.has_original").count() == 3
    assert size["scrollWidth"] <= size["innerWidth"], size
    assert size["inlineRight"] <= size["groupRight"], size
    assert size["scrollHeight"] < MAX_LEAD_FORM_HEIGHT, size
    properties = [page.locator(f"#id_activities-{n}-property").input_value() for n in range(3)]
    assert json.loads(properties[0]) == activities()[0].property
    assert properties[1:] == ["", ""]  # no property: empty, not `null`


def test_delivery_body_wraps_within_the_page(admin_page, live_server):
    page = admin_page
    delivery = Delivery.objects.filter(lead__first_name="Jack", action="created").get()
    page.goto(live_server.url + reverse("admin:leads_delivery_change", args=[delivery.pk]))
    page.screenshot(path=str(SCREENSHOTS / "admin-delivery-change-1280.png"), full_page=True)

    body = page.locator("pre.rg-json")
    layout = page.evaluate(
        """() => {
            const pre = document.querySelector('pre.rg-json');
            return {
                scrollWidth: document.documentElement.scrollWidth,
                innerWidth: window.innerWidth,
                whiteSpace: getComputedStyle(pre).whiteSpace,
                preOverflows: pre.scrollWidth > pre.clientWidth,
            };
        }"""
    )

    assert '\n  "first_name": "Jack",' in body.inner_text()
    assert layout == {
        "scrollWidth": WIDTH,
        "innerWidth": WIDTH,
        "whiteSpace": "pre-wrap",
        "preOverflows": False,
    }


def test_delivery_health_fits_a_phone_and_a_laptop_and_passes_axe(admin_page, live_server):
    page = admin_page
    first, second, _ = Subscription.objects.order_by("pk")
    for hours in range(1, 30, 2):
        make_deliveries(
            first,
            DeliveryState.DELIVERED,
            count=hours,
            finished=hours_ago(hours),
            created=hours_ago(hours + 0.001),
        )
    make_deliveries(second, DeliveryState.FAILED, count=3, finished=hours_ago(3))
    make_deliveries(
        second, DeliveryState.DELIVERED, count=5, finished=hours_ago(3), created=hours_ago(4)
    )
    services.delivery_hours_refresh()
    health = live_server.url + reverse("admin:leads_deliveryhealth_changelist")

    page.goto(health)
    assert page.locator("svg[role=img]").count() == 2
    assert page.locator("table.rg-subscriptions tbody tr").count() == 3
    check_page(page, "admin-delivery-health")

    page.locator("summary", has_text="Figures per hour").click()
    check_page(page, "admin-delivery-health-figures")

    page.goto(f"{health}?window=7d&subscription={second.pk}")
    assert page.locator("h1").inner_text().startswith("Delivery health: PieSync → www.north-shore")
    check_page(page, "admin-delivery-health-subscription")
