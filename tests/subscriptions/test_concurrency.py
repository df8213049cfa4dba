"""Concurrent writes to one site's subscription, from real threads against a live server
(each request its own connection and transaction)."""

import json
import random
import uuid

import httpx
import pytest

from leads.models import Delivery, DeliveryState
from subscriptions.models import Subscription
from tests.concurrency import AT_ONCE, rounds, send_at_once
from tests.factories import ApplicationFactory, SiteFactory, UserFactory, issue_access_token
from tests.leads.samples import LEAD

pytestmark = pytest.mark.usefixtures("transactional_db")


class SiteApi:
    """One site's Subscription and Incoming Leads APIs on the live server, with a token."""

    def __init__(self, base_url: str) -> None:
        self.site = SiteFactory.create(owner=UserFactory.create())
        self.application = ApplicationFactory.create()
        token = issue_access_token(site=self.site, application=self.application)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.subscription_url = f"{base_url}/piesync/subscription/{self.site.uuid}/"
        self.leads_url = f"{base_url}/rest/sites/{self.site.uuid}/leads"

    def put(self, body: dict) -> httpx.Request:
        return httpx.Request("PUT", self.subscription_url, json=body, headers=self.headers)

    def delete(self) -> httpx.Request:
        return httpx.Request("DELETE", self.subscription_url, headers=self.headers)

    def get(self) -> httpx.Response:
        return httpx.get(self.subscription_url, headers=self.headers)

    def new_lead(self) -> httpx.Request:
        return httpx.Request(
            "POST", self.leads_url, json={**LEAD, "id": uuid.uuid4().hex}, headers=self.headers
        )

    def send(self, request: httpx.Request) -> httpx.Response:
        with httpx.Client() as client:
            return client.send(request)


@pytest.fixture
def api(live_server) -> SiteApi:
    return SiteApi(live_server.url)


def bodies(label: str, count: int) -> list[dict]:
    """PUT bodies whose url and secret both name the writer, to spot a mixed row."""
    return [
        {"url": f"https://{label}-{n}.piesync.test/hook", "secret": f"{label}-{n}"}
        for n in range(count)
    ]


def stored(api: SiteApi) -> list[dict]:
    return [
        {"url": row.url, "secret": row.secret} for row in Subscription.objects.filter(site=api.site)
    ]


def test_concurrent_puts_all_succeed_and_leave_one_row_with_one_writers_values(api):
    writers = bodies("w", AT_ONCE)

    answers = send_at_once([api.put(body) for body in writers])

    assert [answer.status_code for answer in answers] == [200] * AT_ONCE
    assert [answer.json() for answer in answers] == writers
    [row] = stored(api)
    assert row in writers


def test_concurrent_puts_keep_an_existing_rows_identity(api):
    assert api.send(api.put(bodies("first", 1)[0])).status_code == 200
    original = Subscription.objects.get(site=api.site)

    answers = send_at_once([api.put(body) for body in bodies("w", AT_ONCE)])

    assert {answer.status_code for answer in answers} == {200}
    [row] = Subscription.objects.filter(site=api.site)
    assert row.pk == original.pk
    assert row.created == original.created
    assert row.updated > original.updated


def test_the_last_committed_put_wins(api):
    """Sequential rounds of racing writers: whatever raced, a later round always wins."""
    for number in rounds():
        writers = bodies(f"r{number}", AT_ONCE)

        answers = send_at_once([api.put(body) for body in writers])

        assert {answer.status_code for answer in answers} == {200}
        [row] = stored(api)
        assert row in writers


def shuffled(requests: list[httpx.Request], seed: int) -> list[httpx.Request]:
    """In an order that differs from round to round, and is the same on every run."""
    random.Random(seed).shuffle(requests)
    return requests


def put_delete_mix(api: SiteApi, label: str, *, puts: int, deletes: int) -> list[httpx.Request]:
    return [api.put(body) for body in bodies(label, puts)] + [api.delete() for _ in range(deletes)]


def test_puts_and_deletes_mixed_answer_as_documented_and_leave_the_last_writers_state(api):
    """Every round races PUTs with DELETEs. A later round's writers committed after an
    earlier round's, so a row left at the end is one of this round's PUTs, whole (url
    and secret of one writer); no row means one of its DELETEs came last."""
    for number in rounds():
        requests = shuffled(put_delete_mix(api, f"r{number}", puts=5, deletes=5), number)

        answers = send_at_once(requests)

        for request, answer in zip(requests, answers, strict=True):
            if request.method == "PUT":
                assert (answer.status_code, answer.json()) == (200, json.loads(request.content))
            else:
                assert (answer.status_code, answer.content) == (204, b"")
        rows = stored(api)
        assert len(rows) <= 1
        if rows:
            assert rows[0] in bodies(f"r{number}", 5)
            assert api.get().json() == rows[0]
        else:
            assert api.get().status_code == 404


def test_deliveries_of_a_deleted_subscription_are_cancelled_in_a_put_delete_mix(api):
    """New leads arrive while PUTs and DELETEs race: every request is answered without a
    5xx, and only the subscription left at the end has deliveries that are not cancelled."""
    for number in rounds():
        assert api.send(api.put(bodies("base", 1)[0])).status_code == 200
        requests = put_delete_mix(api, f"r{number}", puts=3, deletes=3)
        requests = shuffled(requests + [api.new_lead() for _ in range(4)], number)

        answers = send_at_once(requests)

        assert [(r.method, a.status_code) for r, a in zip(requests, answers, strict=True)] == [
            (r.method, {"PUT": 200, "DELETE": 204, "POST": 201}[r.method]) for r in requests
        ]
        current = Subscription.objects.filter(site=api.site).first()
        not_cancelled = Delivery.objects.exclude(state=DeliveryState.CANCELLED)
        assert set(not_cancelled.values_list("subscription_id", flat=True)) <= (
            {current.pk} if current else set()
        )
