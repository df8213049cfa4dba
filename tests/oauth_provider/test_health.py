"""oauth_provider.health: the registry through which a higher app provides connection health."""

import pytest

from oauth_provider import health
from oauth_provider.health import ConnectionHealth, DeliveryStatus
from oauth_provider.models import Connection


@pytest.fixture
def providers(monkeypatch) -> list:
    """An empty registry for the test, leads' provider restored after."""
    registered: list = []
    monkeypatch.setattr(health, "_providers", registered)
    return registered


@pytest.fixture
def connection(user, site, application):
    return Connection.objects.create(site=site, application=application, connected_by=user)


def test_without_a_provider_no_connection_has_health(providers, connection):
    assert health.connections_health([connection]) == {}


def test_a_registered_provider_answers_for_the_connections(providers, connection):
    known = ConnectionHealth(status=DeliveryStatus.ACTIVE, endpoint_host="hooks.example")
    health.register_health_provider(lambda connections: {c.pk: known for c in connections})

    assert health.connections_health([connection]) == {connection.pk: known}


def test_registering_twice_asks_once(providers, connection):
    asked = []

    def provider(connections):
        asked.append(connections)
        return {}

    health.register_health_provider(provider)
    health.register_health_provider(provider)
    health.connections_health([connection])

    assert len(asked) == 1


def test_no_connection_asks_no_provider(providers):
    health.register_health_provider(lambda connections: pytest.fail("asked"))

    assert health.connections_health([]) == {}
