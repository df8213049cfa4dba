"""The delivery health page in the admin (leads/admin_health.py): what it shows from the
hourly rollups and the backlog, its links into the delivery log, who may see it, bad
query parameters, and its constant number of queries."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.models import DeliveryHoursRefresh, DeliveryState
from leads.services import delivery_hours_refresh
from leads.statements import backlogs_change
from tests.factories import ApplicationFactory, SiteFactory, SubscriptionFactory, UserFactory
from tests.leads.deliveries import make_deliveries

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

URL = reverse("admin:leads_deliveryhealth_changelist")


@pytest.fixture
def piesync(db):
    return ApplicationFactory.create(name="PieSync")


def subscribe(domain, application):
    site = SiteFactory.create(domain=domain, owner=UserFactory.create())
    return SubscriptionFactory.create(
        site=site, application=application, url=f"https://hooks.piesync.test/{domain}", secret="s"
    )


def finish(subscription, state, *, count=1, minutes_ago=5, latency=0.02):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    make_deliveries(
        subscription,
        state,
        count=count,
        finished=at,
        created=at - timedelta(seconds=latency),
    )


@pytest.fixture
def two_partners(piesync):
    """A healthy subscription and a failing one, counted by the rollups' task."""
    healthy = subscribe("www.kailua-homes.example.com", piesync)
    failing = subscribe("www.maui-ranch.example.com", piesync)
    finish(healthy, DeliveryState.DELIVERED, count=98)
    finish(healthy, DeliveryState.IGNORED, count=2)
    finish(healthy, DeliveryState.DELIVERED, latency=120, count=2)
    finish(failing, DeliveryState.DELIVERED, count=6)
    finish(failing, DeliveryState.FAILED, count=3)
    finish(failing, DeliveryState.FAILED, count=1, minutes_ago=3 * 24 * 60)  # 3 days ago
    finish(failing, DeliveryState.CANCELLED, count=2)
    make_deliveries(
        failing, DeliveryState.PENDING, count=4, created=timezone.now() - timedelta(hours=2)
    )
    backlogs_change({failing.pk: 4})  # as the services keep it
    delivery_hours_refresh()
    return healthy, failing


def text(response) -> str:
    """The page's text, tags dropped and white space folded: what a person reads (not
    what only a screen reader says, nor the charts)."""
    body = re.sub(
        r'<svg.*?</svg>|<span class="visually-hidden">.*?</span>',
        " ",
        response.content.decode(),
        flags=re.S,
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def links(response) -> dict[str, str]:
    """Each link's text (folded) to its address."""
    found = re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', response.content.decode(), re.S)
    return {
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", label)).split()): html.unescape(href)
        for href, label in found
    }


def test_the_page_shows_the_last_24_hours_overall(admin_client, two_partners):
    response = admin_client.get(URL)

    assert response.status_code == 200
    page = text(response)
    assert "Delivery health" in page
    assert "Received 108 Failed 3 Success rate 97.2%" in page  # 108 of 111
    assert "Latency p50 ≤ 25 ms Latency p99 ≤ 5 min" in page  # 2 of 108 took 2 minutes
    assert "Pending now 4 Oldest pending 2 hours old" in page
    assert "2 cancelled (not counted in the success rate)" in page
    assert re.search(r"Rendered in \d+ ms, \d+ database queries\.", page)
    assert re.search(r"Counted under a minute ago \(\d\d:\d\d:\d\d UTC\)", page)
    assert "last counted" not in page  # not stale
    svg = response.content.decode()
    assert svg.count('<g class="rg-bar">') == 24
    assert '<svg viewBox="0 0 720 240" role="img" aria-labelledby="outcomes-title' in svg
    assert '<title id="latency-title">Commit → answer latency, p50 and p99 per hour' in svg


def test_subscriptions_are_listed_the_worst_first(admin_client, two_partners):
    page = text(admin_client.get(URL))

    assert "2 subscriptions had finished deliveries in this window or have some pending" in page
    failing = page.index("PieSync → www.maui-ranch.example.com 6 3 66.6% ≤ 25 ms ≤ 25 ms 4 2 hours")
    healthy = page.index("PieSync → www.kailua-homes.example.com 102 0 100% ≤ 25 ms ≤ 5 min 0")
    assert failing < healthy


def test_failures_link_to_the_delivery_log_filtered_to_them(admin_client, two_partners):
    _, failing = two_partners
    found = links(admin_client.get(URL))

    overall = found["See the 3 failed deliveries in the delivery log"]
    own = found["3 failed deliveries of PieSync → www.maui-ranch.example.com"]
    assert parse_qs(urlsplit(own).query)["subscription__id__exact"] == [str(failing.pk)]
    for url, expected in ((overall, 3), (own, 3)):
        assert urlsplit(url).path == reverse("admin:leads_delivery_changelist")
        log = admin_client.get(url)
        assert log.status_code == 200
        assert log.context["cl"].result_count == expected  # not the one 3 days old
        assert {d.state for d in log.context["cl"].result_list} == {"failed"}


def test_seven_days_count_the_older_failure(admin_client, two_partners):
    response = admin_client.get(URL, {"window": "7d"})

    page = text(response)
    assert "Received 108 Failed 4" in page
    assert response.content.decode().count('<g class="rg-bar">') == 28  # 6 hours each
    assert "Finished deliveries by outcome, per 6 hours (UTC)" in page
    assert links(response)["See the 4 failed deliveries in the delivery log"]


def test_one_subscription_has_its_own_page(admin_client, two_partners):
    _, failing = two_partners
    response = admin_client.get(URL, {"subscription": failing.pk, "window": "7d"})

    page = text(response)
    assert "Delivery health: PieSync → www.maui-ranch.example.com" in page
    assert "Received 6 Failed 4 Success rate 60%" in page
    assert "Pending now 4" in page
    assert "www.kailua-homes" not in page
    found = links(response)
    assert found["All subscriptions"] == "?window=7d"
    assert found["Last 24 hours"] == f"?window=24h&subscription={failing.pk}"
    assert "subscription__id__exact" in found["See the 4 failed deliveries in the delivery log"]


def test_deleted_and_paused_subscriptions_say_so(admin_client, piesync):
    gone = subscribe("www.gone-homes.example.com", piesync)
    paused = subscribe("www.maui-ranch.example.com", piesync)
    finish(gone, DeliveryState.FAILED, count=2)
    finish(paused, DeliveryState.FAILED)
    gone.delete()  # its deliveries stay, with no subscription
    paused.active = False
    paused.save()
    delivery_hours_refresh()

    response = admin_client.get(URL)

    page = text(response)
    assert "Deleted subscription 0 2 0%" in page
    assert "PieSync → www.maui-ranch.example.com paused 0 1 0%" in page
    log = admin_client.get(links(response)["2 failed deliveries of Deleted subscription"])
    assert log.context["cl"].result_count == 2


def test_the_page_says_when_the_figures_were_never_counted(admin_client, piesync):
    subscription = subscribe("www.kailua-homes.example.com", piesync)
    finish(subscription, DeliveryState.DELIVERED)

    page = text(admin_client.get(URL))

    assert "These figures have not been counted yet" in page
    assert "Received 0 Failed 0 Success rate \N{EN DASH}" in page
    assert "No subscription had a finished delivery in this window" in page


def test_stale_figures_are_called_so(admin_client, piesync):
    delivery_hours_refresh(now=timezone.now() - timedelta(minutes=30))

    page = text(admin_client.get(URL))

    assert "These figures were last counted 30 minutes ago" in page
    assert "Is a worker running?" in page


def test_the_admin_index_and_the_delivery_log_lead_to_it(admin_client):
    for page in (reverse("admin:index"), reverse("admin:leads_delivery_changelist")):
        assert links(admin_client.get(page))["Delivery health"] == URL


# --- who may see it ---------------------------------------------------------------------


def test_someone_not_staff_is_sent_to_log_in(client, db):
    user = UserFactory.create()
    client.force_login(user)

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def staff(*permissions: str) -> Client:
    user = UserFactory.create(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


def test_staff_who_may_not_read_the_delivery_log_get_403(db):
    client = staff("view_lead")

    assert client.get(URL).status_code == 403
    assert "Delivery health" not in text(client.get(reverse("admin:index")))


def test_staff_who_may_read_the_delivery_log_see_it(db):
    client = staff("view_delivery")

    assert client.get(URL).status_code == 200
    assert links(client.get(reverse("admin:index")))["Delivery health"] == URL


# --- hostile input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"window": "30d"},
        {"window": "24h\x00"},
        {"window": "<script>"},
        {"subscription": "abc"},
        {"subscription": "0"},
        {"subscription": "-1"},
        {"subscription": "1.5"},
        {"subscription": "9" * 30},
        {"subscription": "1e3"},
        {"subscription": "\x00"},
        {"window": ["24h", "forever"]},
    ],
)
def test_bad_parameters_get_a_400_that_says_what_to_do(admin_client, query):
    response = admin_client.get(URL, query)

    assert response.status_code == 400
    page = text(response)
    assert "Choose a window of 24h or 7d, and a subscription by its id." in page
    assert "<script>" not in response.content.decode()
    assert links(response)["Show the last 24 hours"] == "?"


def test_a_subscription_that_does_not_exist_is_a_404(admin_client, piesync):
    assert admin_client.get(URL, {"subscription": "123456789"}).status_code == 404


def test_unknown_parameters_are_ignored(admin_client):
    assert admin_client.get(URL, {"page": "2", "o": "-1"}).status_code == 200


def test_names_are_escaped_and_cannot_fake_the_render_time(admin_client):
    application = ApplicationFactory.create(name="<!-- render time --><b>Evil</b>")
    subscription = subscribe("www.kailua-homes.example.com", application)
    finish(subscription, DeliveryState.FAILED)
    delivery_hours_refresh()

    response = admin_client.get(URL)

    body = response.content.decode()
    assert "<b>Evil</b>" not in body
    assert "&lt;!-- render time --&gt;&lt;b&gt;Evil&lt;/b&gt; → www.kailua-homes" in body
    assert re.search(r"Rendered in \d+ ms", text(response))


# --- cost -------------------------------------------------------------------------------


def own_count(response) -> int:
    """The queries the page says it made."""
    found = re.search(r"Rendered in \d+ ms, (\d+) database queries", text(response))
    assert found
    return int(found[1])


def test_the_number_of_queries_does_not_grow_with_subscriptions(
    admin_client, piesync, django_assert_max_num_queries
):
    first = subscribe("www.site-0.example.com", piesync)
    finish(first, DeliveryState.FAILED)
    delivery_hours_refresh()
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(URL, {"window": "7d"})
    one = len(queries)
    assert own_count(response) <= one

    for n in range(1, 60):
        subscription = subscribe(f"www.site-{n}.example.com", piesync)
        finish(subscription, DeliveryState.DELIVERED, count=2)
        finish(subscription, DeliveryState.FAILED, minutes_ago=2 * 24 * 60)
        make_deliveries(subscription, DeliveryState.PENDING)
        backlogs_change({subscription.pk: 1})
    DeliveryHoursRefresh.objects.all().delete()  # a full recount, days back
    delivery_hours_refresh()

    with django_assert_max_num_queries(one):
        response = admin_client.get(URL, {"window": "7d"})
    page = text(response)
    assert "60 subscriptions had finished deliveries" in page
    assert "the worst first, the first 50" in page
    assert page.count("PieSync → www.site-") == 50
    assert "Received 118 Failed 60 Success rate 66.2%" in page
    assert "Pending now 59" in page
