"""Token metrics on `/metrics`, after real requests to the token endpoint."""

import pytest
from django.test import Client

from tests.metrics import TOKENS, scrape, value
from tests.oauth_provider.flow import exchange_code, obtain_tokens, refresh

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

# tokens issued


def test_a_code_exchange_counts_one_authorization_code_token(site, application, on_commit):
    before = scrape()

    with on_commit():
        obtain_tokens(application, site)

    after = scrape()
    assert value(after, TOKENS, grant_type="authorization_code") == (
        value(before, TOKENS, grant_type="authorization_code") + 1
    )
    assert value(after, TOKENS, grant_type="refresh_token") == value(
        before, TOKENS, grant_type="refresh_token"
    )


def test_a_refresh_counts_one_refresh_token_grant(site, application, on_commit):
    with on_commit():
        tokens = obtain_tokens(application, site)
    before = scrape()

    with on_commit():
        response = refresh(Client(), application, tokens["refresh_token"])

    assert response.status_code == 200
    after = scrape()
    assert value(after, TOKENS, grant_type="refresh_token") == (
        value(before, TOKENS, grant_type="refresh_token") + 1
    )


def test_a_refused_token_request_counts_nothing(application, on_commit):
    before = scrape()

    with on_commit():
        response = exchange_code(Client(), application, "not-a-code")

    assert response.status_code == 400
    after = scrape()
    for grant_type in ("authorization_code", "refresh_token"):
        assert value(after, TOKENS, grant_type=grant_type) == value(
            before, TOKENS, grant_type=grant_type
        )
