"""leads.connection_health: whether leads flow to each connected application."""

import pytest

from leads.connection_health import connections_health
from leads.models import DeliveryState
from oauth_provider.health import ConnectionHealth, DeliveryStatus
from oauth_provider.health import connections_health as registered_health
from oauth_provider.models import Connection
from subscriptions.models import DEACTIVATED_BY_410, DEACTIVATED_BY_STAFF
from subscriptions.services import subscription_deactivate
from tests.factories import ApplicationFactory, SiteFactory, SubscriptionFactory
from tests.leads.deliveries import hours_ago, make_deliveries

URL = "https://hooks.piesync.test/v2/webhooks/0f8fd0c2a9d4/leads?token=partner-token-123"


@pytest.fixture
def connection(user, site, application):
    return Connection.objects.create(site=site, application=application, connected_by=user)


@pytest.fixture
def subscription(connection):
    return SubscriptionFactory.create(
        site=connection.site, application=connection.application, url=URL, secret="s3cret"
    )


def health_of(connection: Connection) -> ConnectionHealth:
    return connections_health([connection])[connection.pk]


def test_no_subscription_is_not_set_up(connection):
    assert health_of(connection) == ConnectionHealth(status=DeliveryStatus.NOT_SET_UP)


def test_active_subscription_names_only_the_endpoint_host(connection, subscription):
    health = health_of(connection)

    assert health.status == DeliveryStatus.ACTIVE
    assert health.endpoint_host == "hooks.piesync.test"
    assert health.paused_at is None
    assert (health.last_delivered, health.recent_failures) == (None, 0)


def test_last_delivered_is_the_latest_delivered_or_ignored(connection, subscription):
    make_deliveries(subscription, DeliveryState.DELIVERED, finished=hours_ago(30))
    (ignored,) = make_deliveries(subscription, DeliveryState.IGNORED, finished=hours_ago(2))
    make_deliveries(subscription, DeliveryState.FAILED, finished=hours_ago(1))
    make_deliveries(subscription, DeliveryState.CANCELLED, finished=hours_ago(1))

    assert health_of(connection).last_delivered == ignored.finished


def test_recent_failures_count_given_up_and_retrying_deliveries_of_the_last_day(
    connection, subscription
):
    make_deliveries(subscription, DeliveryState.FAILED, count=3, finished=hours_ago(5))
    make_deliveries(subscription, DeliveryState.PENDING, count=2, attempts=4, updated=hours_ago(1))
    # Not counted: failed or last tried over a day ago, queued and never tried, delivered.
    make_deliveries(subscription, DeliveryState.FAILED, finished=hours_ago(25))
    make_deliveries(subscription, DeliveryState.PENDING, attempts=2, updated=hours_ago(25))
    make_deliveries(subscription, DeliveryState.PENDING)
    make_deliveries(subscription, DeliveryState.DELIVERED, finished=hours_ago(1))

    assert health_of(connection).recent_failures == 5


def test_paused_by_a_410_says_since_when(connection, subscription):
    subscription_deactivate(subscription_id=subscription.pk, reason=DEACTIVATED_BY_410)
    subscription.refresh_from_db()

    health = health_of(connection)

    assert health.status == DeliveryStatus.PAUSED_GONE
    assert health.paused_at == subscription.deactivated_at is not None
    assert health.endpoint_host == "hooks.piesync.test"


def test_paused_by_staff_is_paused(connection, subscription):
    subscription_deactivate(subscription_id=subscription.pk, reason=DEACTIVATED_BY_STAFF)

    assert health_of(connection).status == DeliveryStatus.PAUSED


def test_each_connection_gets_its_own_subscription(user, application):
    other_application = ApplicationFactory.create(name="Other CRM")
    first, second = SiteFactory.create(owner=user), SiteFactory.create(owner=user)
    connections = [
        Connection.objects.create(site=site, application=app, connected_by=user)
        for site, app in [(first, application), (second, other_application)]
    ]
    # A subscription of a pair that is not connected does not leak into the others.
    SubscriptionFactory.create(site=first, application=other_application, url=URL, secret="s")
    subscription = SubscriptionFactory.create(
        site=second, application=other_application, url="https://b.example/h", secret="s"
    )
    make_deliveries(subscription, DeliveryState.FAILED, finished=hours_ago(1))

    health = connections_health(connections)

    assert health[connections[0].pk].status == DeliveryStatus.NOT_SET_UP
    assert health[connections[1].pk].endpoint_host == "b.example"
    assert health[connections[1].pk].recent_failures == 1


def test_one_query_whatever_the_number_of_connections(user, application, django_assert_num_queries):
    connections = []
    for _ in range(5):
        site = SiteFactory.create(owner=user)
        connections.append(Connection.objects.create(site=site, application=application))
        subscription = SubscriptionFactory.create(
            site=site, application=application, url=URL, secret="s"
        )
        make_deliveries(subscription, DeliveryState.DELIVERED, count=3, finished=hours_ago(1))

    with django_assert_num_queries(1):
        health = connections_health(connections)

    assert len(health) == 5


def test_registered_with_oauth_provider_when_leads_is_ready(connection, subscription):
    assert registered_health([connection])[connection.pk].status == DeliveryStatus.ACTIVE
