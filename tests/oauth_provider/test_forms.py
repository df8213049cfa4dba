"""The consent form (oauth_provider.forms) with values no browser of ours sends."""

import pytest

from oauth_provider.models import Grant
from tests.oauth_provider.flow import (
    AUTHORIZE,
    authorize_url,
    consent_form,
    logged_in_client,
    page_text,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def post_consent(user, application, **fields: str):
    browser = logged_in_client(user)
    page = browser.get(authorize_url(application))
    return browser.post(AUTHORIZE, {**consent_form(page), "allow": "Authorize", **fields})


@pytest.mark.parametrize("client_id", ["piesync\x00", "c" * 5000], ids=["nul", "long"])
def test_a_client_id_no_application_can_have_is_the_error_page(site, application, client_id):
    response = post_consent(site.owner, application, client_id=client_id, site=str(site.uuid))

    assert response.status_code == 400
    assert not response.has_header("Location")
    assert "This request is not from a registered application." in page_text(response)
    assert not Grant.objects.exists()


@pytest.mark.parametrize("value", ["\x00", "s" * 5000], ids=["nul", "long"])
def test_a_site_value_no_site_can_have_asks_for_a_site(site, application, value):
    response = post_consent(site.owner, application, site=value)

    assert response.status_code == 400
    assert "Choose one of your sites to connect." in page_text(response)
    assert not Grant.objects.exists()
