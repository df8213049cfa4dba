"""oauth_provider.selectors: the client credentials' lookup, with the site in the path."""

import pytest

from oauth_provider.models import Application, Connection
from oauth_provider.selectors import client_with_connected_site
from sites.models import Site
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def fields(instance: object) -> dict[str, object]:
    meta = type(instance)._meta  # type: ignore[attr-defined]
    return {field.attname: getattr(instance, field.attname) for field in meta.concrete_fields}


@pytest.fixture
def connected(site, application):
    Connection.objects.create(site=site, application=application, connected_by=site.owner)
    return application


def test_the_client_and_its_connected_site_are_read_in_one_query_as_the_orm_reads_them(
    site, connected, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = client_with_connected_site(client_id=connected.client_id, site_uuid=site.uuid)

    assert found is not None
    application, found_site = found
    assert fields(application) == fields(Application.objects.get(pk=connected.pk))
    assert found_site is not None
    assert fields(found_site) == fields(Site.objects.get(pk=site.pk))
    assert not application._state.adding and application._state.db == "default"


def test_a_site_the_client_is_not_connected_to_is_none(user, connected):
    other = SiteFactory.create(owner=user)

    found = client_with_connected_site(client_id=connected.client_id, site_uuid=other.uuid)

    assert found is not None and found[1] is None
    assert client_with_connected_site(client_id=connected.client_id, site_uuid=None) == (
        found[0],
        None,
    )


@pytest.mark.parametrize("client_id", ["unknown", "nul\x00", "lone \udc80"])
def test_an_unknown_client_is_none(site, connected, client_id, django_assert_num_queries):
    with django_assert_num_queries(1 if client_id == "unknown" else 0):
        assert client_with_connected_site(client_id=client_id, site_uuid=site.uuid) is None
