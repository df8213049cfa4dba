"""oauth_provider.selectors: the lookups on the token endpoint's path and the client
credentials' lookup with the site in the path: one statement each, and what they load."""

import hashlib

import pytest
from django.utils import timezone

from oauth_provider import selectors
from oauth_provider.models import AccessToken, Application, Connection, Grant, RefreshToken
from oauth_provider.selectors import client_with_connected_site
from sites.models import Site
from tests.factories import ApplicationFactory, SiteFactory
from tests.oauth_provider.flow import approve, obtain_tokens, signed_in

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def stored(refresh_token: str) -> RefreshToken:
    checksum = hashlib.sha256(refresh_token.encode()).hexdigest()
    return RefreshToken.objects.get(token_checksum=checksum, revoked__isnull=True)


# refresh_token_for_refresh


def test_refresh_token_for_refresh_loads_the_token_its_access_token_and_site_in_one_query(
    site, application, django_assert_num_queries
):
    tokens = obtain_tokens(application, site)
    row = stored(tokens["refresh_token"])
    access_token = AccessToken.objects.get()

    with django_assert_num_queries(1):
        found = selectors.refresh_token_for_refresh(token=tokens["refresh_token"])
        assert found is not None and found.access_token is not None
        assert (found.pk, found.user_id, found.application_id) == (
            row.pk,
            row.user_id,
            row.application_id,
        )
        assert (found.token_family, found.created, found.revoked) == (
            row.token_family,
            row.created,
            None,
        )
        assert (found.access_token.pk, found.access_token.expires) == (
            access_token.pk,
            access_token.expires,
        )
        assert found.access_token.scope == "leadrouter:connect leadrouter:send"
        assert (found.site.pk, found.site.uuid, found.site.domain) == (
            site.pk,
            site.uuid,
            site.domain,
        )


def test_refresh_token_for_refresh_of_an_unknown_token_is_none(db):
    assert selectors.refresh_token_for_refresh(token="not-a-refresh-token") is None


def test_refresh_token_for_refresh_prefers_the_live_row_to_a_revoked_one(site, application):
    # Rows may share a checksum, as in DOT's own lookup: (token_checksum, revoked) is unique.
    tokens = obtain_tokens(application, site)
    live = stored(tokens["refresh_token"])
    RefreshToken.objects.create(
        user=site.owner,
        site=site,
        application=application,
        token_checksum=live.token_checksum,
        revoked=timezone.now(),
    )

    found = selectors.refresh_token_for_refresh(token=tokens["refresh_token"])

    assert found is not None and found.pk == live.pk


def test_refresh_token_for_refresh_of_a_token_without_access_token(site, application):
    tokens = obtain_tokens(application, site)
    AccessToken.objects.all().delete()

    found = selectors.refresh_token_for_refresh(token=tokens["refresh_token"])

    assert found is not None and found.access_token is None


# grant_for_exchange


def test_grant_for_exchange_loads_the_grant_and_its_site_in_one_query(
    site, application, django_assert_num_queries
):
    code = approve(signed_in(site.owner), application, site)["code"]
    grant = Grant.objects.get()

    with django_assert_num_queries(1):
        found = selectors.grant_for_exchange(code=code, application=application)
        assert found is not None and found.pk == grant.pk
        assert (found.user_id, found.expires, found.redirect_uri, found.scope) == (
            grant.user_id,
            grant.expires,
            grant.redirect_uri,
            grant.scope,
        )
        assert (found.code_challenge, found.consumed, found.token_family) == ("", None, None)
        assert (found.site.uuid, found.site.domain) == (site.uuid, site.domain)


def test_grant_for_exchange_of_another_clients_code_is_none(site, application):
    code = approve(signed_in(site.owner), application, site)["code"]

    assert selectors.grant_for_exchange(code=code, application=ApplicationFactory.create()) is None


# application_for_client_id


def test_application_for_client_id_is_the_whole_row_in_one_query(
    application, django_assert_num_queries
):
    expected = Application.objects.get(pk=application.pk)

    with django_assert_num_queries(1):
        found = selectors.application_for_client_id(client_id=application.client_id)
        assert found is not None
        for field in Application._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(expected, field.attname), field.name


def test_application_for_client_id_of_an_unknown_client_is_none(db):
    assert selectors.application_for_client_id(client_id="no-such-client") is None


def test_application_for_client_id_with_a_nul_asks_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.application_for_client_id(client_id="piesync\x00") is None


# client_with_connected_site


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
