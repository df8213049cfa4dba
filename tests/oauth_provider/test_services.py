"""Recording a connection, as a code exchange does."""

import pytest

from oauth_provider import services
from oauth_provider.models import Connection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_connection_record_connects_the_application_to_the_site(site, application):
    services.connection_record(site=site, application=application, user_id=site.owner.pk)

    connection = Connection.objects.get()
    assert (connection.site, connection.application) == (site, application)
    assert connection.connected_by == site.owner


def test_connection_record_again_records_who_connected_it_and_keeps_one_row(site, application):
    services.connection_record(site=site, application=application, user_id=site.owner.pk)
    first = Connection.objects.get()
    other = UserFactory.create()

    services.connection_record(site=site, application=application, user_id=other.pk)

    again = Connection.objects.get()
    assert (again.pk, again.created) == (first.pk, first.created)
    assert again.connected_by == other
    assert again.updated > first.updated


def test_connection_record_is_one_statement(site, application, django_assert_num_queries):
    services.connection_record(site=site, application=application, user_id=site.owner.pk)

    with django_assert_num_queries(1):
        services.connection_record(site=site, application=application, user_id=site.owner.pk)
