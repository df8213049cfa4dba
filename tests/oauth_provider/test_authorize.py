"""GET/POST /piesync/oauth/authorize/: consent with the site choice, and every error branch."""

import uuid
from urllib.parse import urlencode

import pytest
from django.test import Client
from oauth2_provider.settings import oauth2_settings

from oauth_provider.models import AccessToken, Application, Grant, RefreshToken
from tests.factories import REDIRECT_URI, ApplicationFactory, SiteFactory, UserFactory
from tests.oauth_provider.flow import (
    AUTHORIZE,
    CONNECTED_APPS,
    SCOPE,
    Pkce,
    approve,
    authorize_url,
    consent_form,
    exchange_code,
    issuer,
    logged_in_client,
    page_text,
    query_of,
    tags,
)

SCOPE_DESCRIPTIONS = oauth2_settings.SCOPES
CONSENT_FORM = {"id": "authorizationForm"}

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def browser(user) -> Client:
    return logged_in_client(user)


@pytest.fixture
def two_sites(user):
    return SiteFactory.create(owner=user, domain="www.aaa.example.com"), SiteFactory.create(
        owner=user, domain="www.bbb.example.com"
    )


def post_consent(browser: Client, application: Application, data: dict[str, str], **params):
    """Render the consent page for an authorize request, then post it with `data` added."""
    url = authorize_url(application, **params)
    page = browser.get(url)
    assert page.status_code == 200, page.content
    return browser.post(url, {**consent_form(page), **data})


def redirected_to_partner(response) -> dict[str, str]:
    """The query PieSync's redirect URI receives; fails unless the response redirects there."""
    assert response.status_code == 302, response.content
    location = response["Location"]
    assert location.split("?")[0] == REDIRECT_URI
    return query_of(location)


def assert_error_page(response) -> str:
    """An HTML error page shown to the user, never a redirect (RFC 6749 §4.1.2.1)."""
    assert 400 <= response.status_code < 500
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith("text/html")
    text = page_text(response)
    assert "This connection request cannot be completed" in text
    return text


# Consent page


def test_consent_page_names_the_application(browser, site, application):
    response = browser.get(authorize_url(application))

    assert response.status_code == 200
    assert f"Connect {application.name} to your website" in page_text(response)


def test_consent_page_cannot_be_framed(browser, site, application):
    # RFC 9700 §4.16: clickjacking.
    response = browser.get(authorize_url(application))

    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_consent_page_describes_every_requested_scope_in_plain_words(browser, site, application):
    response = browser.get(authorize_url(application))

    text = page_text(response)
    for description in SCOPE_DESCRIPTIONS.values():
        assert description in text


def test_consent_page_describes_only_the_requested_scope(browser, site, application):
    response = browser.get(authorize_url(application, scope="leadrouter:send"))

    text = page_text(response)
    assert SCOPE_DESCRIPTIONS["leadrouter:send"] in text
    assert SCOPE_DESCRIPTIONS["leadrouter:connect"] not in text


def test_consent_page_offers_each_of_the_users_sites_as_a_radio(browser, two_sites, application):
    SiteFactory.create()  # someone else's

    response = browser.get(authorize_url(application))

    radios = tags(response, "input", name="site")
    assert [radio["type"] for radio in radios] == ["radio", "radio"]
    assert {radio["value"] for radio in radios} == {str(site.uuid) for site in two_sites}


def test_consent_page_shows_the_site_names_and_domains(browser, two_sites, application):
    response = browser.get(authorize_url(application))

    text = page_text(response)
    for site in two_sites:
        assert site.name in text
        assert site.domain in text


def test_consent_page_says_what_the_application_will_receive(browser, site, application):
    response = browser.get(authorize_url(application))

    text = page_text(response)
    assert f"What {application.name} will receive" in text
    assert (
        "Every lead of the site you choose, each time one is added or updated: the lead's "
        "name, email addresses, phone numbers and address, and their activity on your site"
    ) in text


def test_consent_for_sending_only_says_nothing_of_leads_received(browser, site, application):
    response = browser.get(authorize_url(application, scope="leadrouter:send"))

    assert "will receive" not in page_text(response)


def test_consent_page_says_where_to_disconnect_later(browser, site, application):
    response = browser.get(authorize_url(application))

    assert f"You can disconnect {application.name} at any time on" in page_text(response)
    assert CONNECTED_APPS in [link.get("href") for link in tags(response, "a")]


def test_only_site_is_preselected(browser, site, application):
    response = browser.get(authorize_url(application))

    (radio,) = tags(response, "input", name="site")
    assert radio["value"] == str(site.uuid)
    assert "checked" in radio


def test_no_site_is_preselected_when_the_user_has_two(browser, two_sites, application):
    response = browser.get(authorize_url(application))

    radios = tags(response, "input", name="site")
    assert len(radios) == 2
    assert not [radio for radio in radios if "checked" in radio]


def test_consent_page_has_an_allow_button_and_a_deny_button(browser, site, application):
    response = browser.get(authorize_url(application))

    allow, deny = tags(response, "button", form=CONSENT_FORM, type="submit")
    assert allow["name"] == "allow"
    assert "name" not in deny
    assert "formnovalidate" in deny
    assert "Deny" in page_text(response)


def test_consent_page_carries_the_request_in_hidden_fields(browser, site, application):
    response = browser.get(authorize_url(application, state="s-123"))

    form = consent_form(response)
    assert form["client_id"] == application.client_id
    assert form["redirect_uri"] == REDIRECT_URI
    assert form["state"] == "s-123"
    assert form["scope"] == SCOPE
    assert form["response_type"] == "code"


def test_consent_is_shown_again_to_a_user_who_already_approved(browser, site, application):
    redirect = approve(browser, application, site)
    assert exchange_code(Client(), application, redirect["code"]).status_code == 200

    response = browser.get(authorize_url(application))

    assert response.status_code == 200
    assert tags(response, "input", name="site")


def test_approval_prompt_auto_still_shows_consent(browser, site, application):
    """The site choice is part of consent, so a client cannot ask to skip it."""
    redirect = approve(browser, application, site)
    assert exchange_code(Client(), application, redirect["code"]).status_code == 200

    response = browser.get(authorize_url(application, approval_prompt="auto"))

    assert response.status_code == 200
    assert tags(response, "input", name="site")
    assert Grant.objects.count() == 1


def test_skip_authorization_application_still_shows_consent(browser, site):
    application = ApplicationFactory.create(skip_authorization=True)

    response = browser.get(authorize_url(application))

    assert response.status_code == 200
    assert tags(response, "input", name="site")
    assert not Grant.objects.exists()


def test_consent_post_without_csrf_token_is_refused(user, site, application):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    url = authorize_url(application)
    page = browser.get(url)
    form = {k: v for k, v in consent_form(page).items() if k != "csrfmiddlewaretoken"}

    response = browser.post(url, {**form, "site": str(site.uuid), "allow": "Authorize"})

    assert response.status_code == 403
    assert not Grant.objects.exists()


# Approve and deny


def test_approve_redirects_with_code_and_state(browser, site, application):
    response = post_consent(
        browser, application, {"site": str(site.uuid), "allow": "Authorize"}, state="st-42"
    )

    query = redirected_to_partner(response)
    assert query["code"]
    assert query["state"] == "st-42"


def test_approve_redirect_carries_the_published_issuer(browser, site, application):
    response = post_consent(browser, application, {"site": str(site.uuid), "allow": "Authorize"})

    query = redirected_to_partner(response)
    assert query["iss"] == issuer(Client())
    assert query["iss"].startswith("http")


def test_approve_stores_the_grant_for_the_user_and_chosen_site(user, browser, two_sites):
    application = ApplicationFactory.create()
    chosen = two_sites[1]

    query = approve(browser, application, chosen)

    grant = Grant.objects.get(code=query["code"])
    assert grant.site == chosen
    assert grant.user == user
    assert grant.application == application
    assert grant.redirect_uri == REDIRECT_URI
    assert grant.scope == SCOPE


def test_tokens_carry_the_chosen_site(browser, two_sites, application):
    chosen = two_sites[1]
    query = approve(browser, application, chosen)

    body = exchange_code(Client(), application, query["code"]).json()

    assert body["site_uuid"] == str(chosen.uuid)
    assert AccessToken.objects.get().site == chosen
    assert RefreshToken.objects.get().site == chosen


def test_deny_redirects_with_access_denied_and_state(browser, site, application):
    response = post_consent(browser, application, {"site": str(site.uuid)}, state="st-deny")

    query = redirected_to_partner(response)
    assert query["error"] == "access_denied"
    assert query["state"] == "st-deny"
    assert "code" not in query
    assert not Grant.objects.exists()


def test_deny_redirect_carries_the_issuer(browser, site, application):
    """RFC 9207 §2: `iss` is in error responses too, and our metadata says we send it."""
    response = post_consent(browser, application, {})

    query = redirected_to_partner(response)
    assert query["error"] == "access_denied"
    assert query["iss"] == issuer(Client())


def test_deny_needs_no_site_choice(browser, two_sites, application):
    response = post_consent(browser, application, {})

    assert redirected_to_partner(response)["error"] == "access_denied"


# A user without a site


@pytest.fixture
def siteless_browser(db) -> Client:
    return logged_in_client(UserFactory.create())


def test_user_without_site_sees_the_no_site_page(siteless_browser, application):
    response = siteless_browser.get(authorize_url(application))

    assert response.status_code == 200
    text = page_text(response)
    assert "You have no site to connect" in text
    assert application.name in text
    assert not tags(response, "input", name="site")


def test_no_site_page_has_only_a_return_button(siteless_browser, application):
    response = siteless_browser.get(authorize_url(application))

    (button,) = tags(response, "button", form={"id": "returnForm"})
    assert "name" not in button
    assert not tags(response, "button", name="allow")
    assert f"Return to {application.name}" in page_text(response)


def test_no_site_page_button_returns_access_denied(siteless_browser, application):
    url = authorize_url(application, state="st-nosite")
    page = siteless_browser.get(url)

    response = siteless_browser.post(url, consent_form(page))

    query = redirected_to_partner(response)
    assert query["error"] == "access_denied"
    assert query["state"] == "st-nosite"
    assert not Grant.objects.exists()


def test_user_without_site_cannot_force_an_approval(siteless_browser, application):
    other_site = SiteFactory.create()
    url = authorize_url(application)
    page = siteless_browser.get(url)

    response = siteless_browser.post(
        url, {**consent_form(page), "site": str(other_site.uuid), "allow": "Authorize"}
    )

    assert response.status_code == 400
    assert not response.has_header("Location")
    assert not Grant.objects.exists()


def test_user_without_site_sees_the_error_page_for_an_unknown_client(siteless_browser):
    response = siteless_browser.get(
        f"{AUTHORIZE}?"
        + urlencode(
            {
                "client_id": "nobody",
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": SCOPE,
            }
        )
    )

    text = assert_error_page(response)
    assert "You have no site to connect" not in text


# Errors shown on a page: the client or the redirect URI cannot be trusted


def test_unknown_client_id_shows_an_error_page(browser, site, application):
    application.client_id = "someone-else"  # not saved: an unregistered client id

    response = browser.get(authorize_url(application))

    text = assert_error_page(response)
    assert "invalid_client_id" in text or "invalid_request" in text


def test_error_page_leads_with_a_sentence_and_keeps_the_code(browser, site, application):
    response = browser.get(authorize_url(application, client_id="someone-else"))

    text = assert_error_page(response)
    assert (
        '<p class="lead">The link that brought you here does not name an application '
        "registered with Real Geeks.</p>"
    ) in text
    assert "Error code: <code>invalid_request</code> (Invalid client_id parameter value.)" in text


def test_error_page_for_an_unregistered_redirect_uri_says_so(browser, site, application):
    response = browser.get(authorize_url(application, redirect_uri="https://evil.example/cb"))

    text = assert_error_page(response)
    assert "asked to send you back to an address it has not registered" in text
    assert "Error code: <code>invalid_request</code>" in text


def test_error_page_for_a_repeated_client_id_says_the_link_is_unsound(browser, site, application):
    url = authorize_url(application) + "&" + urlencode({"client_id": application.client_id})

    text = assert_error_page(browser.get(url))

    assert "is not a connection request Real Geeks can accept" in text


def test_error_page_for_a_tampered_consent_form_names_no_registered_application(
    browser, site, application
):
    response = post_consent(
        browser, application, {"site": str(site.uuid), "allow": "Authorize", "client_id": "nope"}
    )

    text = assert_error_page(response)
    assert "does not name an application registered with Real Geeks" in text
    assert "This request is not from a registered application." in text


def test_missing_client_id_shows_an_error_page(browser, site, application):
    response = browser.get(authorize_url(application, client_id=None))

    assert_error_page(response)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/v1/realgeeks/callback",
        "https://api.piesync.test/v1/realgeeks/other",
        "https://api.piesync.test/v1/realgeeks/callback/",
        "https://api.piesync.test/v1/realgeeks/callback?next=https://evil.example/",
        "https://api.piesync.test:8443/v1/realgeeks/callback",
        "http://api.piesync.test/v1/realgeeks/callback",
        "https://api.piesync.test/v1/realgeeks/callback#fragment",
        "/v1/realgeeks/callback",
    ],
)
def test_redirect_uri_must_match_exactly(browser, site, application, redirect_uri):
    response = browser.get(authorize_url(application, redirect_uri=redirect_uri))

    assert_error_page(response)


def test_redirect_uri_registered_for_another_client_shows_an_error_page(browser, site, application):
    other = ApplicationFactory.create(redirect_uris="https://other.example/callback")

    response = browser.get(authorize_url(application, redirect_uri=other.redirect_uris))

    assert_error_page(response)


def test_duplicated_redirect_uri_shows_an_error_page(browser, site, application):
    url = authorize_url(application) + "&" + urlencode({"redirect_uri": REDIRECT_URI})

    response = browser.get(url)

    assert_error_page(response)


def test_tampered_redirect_uri_in_the_consent_form_shows_an_error_page(browser, site, application):
    response = post_consent(
        browser,
        application,
        {
            "site": str(site.uuid),
            "allow": "Authorize",
            "redirect_uri": "https://evil.example/callback",
        },
    )

    assert_error_page(response)
    assert not Grant.objects.exists()


def test_tampered_client_id_in_the_consent_form_issues_no_code(browser, site, application):
    response = post_consent(
        browser, application, {"site": str(site.uuid), "allow": "Authorize", "client_id": "nope"}
    )

    assert_error_page(response)
    assert not Grant.objects.exists()


# Errors returned to the partner: redirect with error, error_description and state


@pytest.mark.parametrize("response_type", ["token", "code token", "code id_token", "none"])
def test_response_type_other_than_code_is_unsupported(browser, site, application, response_type):
    response = browser.get(authorize_url(application, response_type=response_type, state="st-rt"))

    query = redirected_to_partner(response)
    assert query["error"] == "unsupported_response_type"
    assert query["error_description"]
    assert query["state"] == "st-rt"


def test_missing_response_type_is_an_invalid_request(browser, site, application):
    response = browser.get(authorize_url(application, response_type=None, state="st-mrt"))

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_request"
    assert query["error_description"]
    assert query["state"] == "st-mrt"


def test_unknown_response_type_is_unsupported(browser, site, application):
    response = browser.get(authorize_url(application, response_type="magic", state="st-mg"))

    query = redirected_to_partner(response)
    assert query["error"] == "unsupported_response_type"
    assert query["state"] == "st-mg"


def test_anonymous_prompt_none_redirects_with_login_required(site, application):
    response = Client().get(authorize_url(application, prompt="none", state="st-none"))

    query = redirected_to_partner(response)
    assert query["error"] == "login_required"
    assert query["state"] == "st-none"
    assert query["iss"] == issuer(Client())


def test_unknown_scope_is_an_invalid_scope(browser, site, application):
    response = browser.get(
        authorize_url(application, scope="leadrouter:connect admin:everything", state="st-sc")
    )

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_scope"
    assert query["error_description"]
    assert query["state"] == "st-sc"


def test_error_redirect_carries_the_issuer(browser, site, application):
    response = browser.get(authorize_url(application, scope="nope"))

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_scope"
    assert query["iss"] == issuer(Client())


def test_tampered_scope_in_the_consent_form_is_an_invalid_scope(browser, site, application):
    response = post_consent(
        browser,
        application,
        {"site": str(site.uuid), "allow": "Authorize", "scope": "admin:everything"},
        state="st-tsc",
    )

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_scope"
    assert query["state"] == "st-tsc"
    assert not Grant.objects.exists()


@pytest.mark.parametrize("param", ["scope", "state", "response_type"])
def test_duplicated_parameter_is_an_invalid_request(browser, site, application, param):
    """RFC 6749 §3.1 and §4.1.2.1: parameters MUST NOT repeat; the client and URI are fine."""
    url = authorize_url(application, state="st-dup") + "&" + urlencode({param: "again"})

    response = browser.get(url)

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_request"
    assert param in query["error_description"]
    assert "code" not in query


def test_grant_type_the_client_may_not_use_is_unauthorized_client(browser, site):
    application = ApplicationFactory.create(
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS
    )

    response = browser.get(authorize_url(application, state="st-uc"))

    query = redirected_to_partner(response)
    assert query["error"] == "unauthorized_client"
    assert query["state"] == "st-uc"


# PKCE at the authorization endpoint


@pytest.fixture
def public_application(db):
    return ApplicationFactory.create(client_type=Application.CLIENT_PUBLIC, client_secret="")


def test_public_client_without_pkce_is_an_invalid_request(browser, site, public_application):
    response = browser.get(authorize_url(public_application, state="st-pk"))

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_request"
    assert "challenge" in query["error_description"].lower()
    assert query["state"] == "st-pk"


def test_public_client_with_s256_pkce_reaches_consent(browser, site, public_application):
    pkce = Pkce.new()

    response = browser.get(
        authorize_url(
            public_application, code_challenge=pkce.challenge, code_challenge_method="S256"
        )
    )

    assert response.status_code == 200
    assert consent_form(response)["code_challenge"] == pkce.challenge


def test_pkce_challenge_is_stored_on_the_grant(browser, site, application):
    pkce = Pkce.new()

    query = approve(
        browser, application, site, code_challenge=pkce.challenge, code_challenge_method="S256"
    )

    grant = Grant.objects.get(code=query["code"])
    assert grant.code_challenge == pkce.challenge
    assert grant.code_challenge_method == "S256"


def test_plain_code_challenge_method_is_an_invalid_request(browser, site, application):
    response = browser.get(
        authorize_url(
            application, code_challenge="x" * 43, code_challenge_method="plain", state="st-pl"
        )
    )

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_request"
    assert query["error_description"]
    assert query["state"] == "st-pl"


def test_code_challenge_without_method_is_an_invalid_request(browser, site, application):
    """RFC 7636 §4.3 defaults the method to plain, which we refuse."""
    response = browser.get(authorize_url(application, code_challenge="x" * 43, state="st-nm"))

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_request"
    assert query["state"] == "st-nm"


def test_plain_method_smuggled_into_the_consent_form_issues_no_code(browser, site, application):
    pkce = Pkce.new()

    response = post_consent(
        browser,
        application,
        {"site": str(site.uuid), "allow": "Authorize", "code_challenge_method": "plain"},
        code_challenge=pkce.challenge,
        code_challenge_method="S256",
    )

    query = redirected_to_partner(response)
    assert query["error"] == "invalid_request"
    assert "code" not in query
    assert not Grant.objects.exists()


# Site smuggling: the site comes only from the consent form and must be the user's


def test_site_in_the_query_string_preselects_nothing(browser, two_sites, application):
    response = browser.get(authorize_url(application, site=str(two_sites[1].uuid)))

    assert response.status_code == 200
    assert not [radio for radio in tags(response, "input", name="site") if "checked" in radio]


def test_site_in_the_query_string_does_not_choose_the_site(browser, two_sites, application):
    first, second = two_sites

    response = post_consent(
        browser, application, {"site": str(first.uuid), "allow": "Authorize"}, site=str(second.uuid)
    )

    query = redirected_to_partner(response)
    assert Grant.objects.get(code=query["code"]).site == first


def test_site_only_in_the_query_string_is_refused(browser, two_sites, application):
    url = authorize_url(application, site=str(two_sites[1].uuid))
    page = browser.get(url)

    response = browser.post(url, {**consent_form(page), "allow": "Authorize"})

    assert response.status_code == 400
    assert not response.has_header("Location")
    assert "Choose one of your sites to connect." in page_text(response)
    assert not Grant.objects.exists()


def test_another_users_site_in_the_query_string_does_not_choose_it(browser, site, application):
    stranger_site = SiteFactory.create()

    response = post_consent(
        browser,
        application,
        {"site": str(site.uuid), "allow": "Authorize"},
        site=str(stranger_site.uuid),
    )

    query = redirected_to_partner(response)
    assert Grant.objects.get(code=query["code"]).site == site


def test_another_users_site_in_the_form_is_refused(browser, site, application):
    stranger_site = SiteFactory.create()

    response = post_consent(
        browser, application, {"site": str(stranger_site.uuid), "allow": "Authorize"}
    )

    assert response.status_code == 400
    assert not response.has_header("Location")
    assert not Grant.objects.exists()


def test_refused_site_re_renders_consent_with_an_error(browser, site, application):
    stranger_site = SiteFactory.create()

    response = post_consent(
        browser, application, {"site": str(stranger_site.uuid), "allow": "Authorize"}
    )

    text = page_text(response)
    assert "Choose one of your sites to connect." in text
    assert f"Connect {application.name} to your website" in text
    assert [radio["value"] for radio in tags(response, "input", name="site")] == [str(site.uuid)]
    assert str(stranger_site.uuid) not in text
    assert SCOPE_DESCRIPTIONS["leadrouter:send"] in text


def test_consent_can_be_retried_after_a_refused_site(browser, site, application):
    url = authorize_url(application, state="st-retry")
    page = browser.get(url)
    refused = browser.post(
        url, {**consent_form(page), "site": str(SiteFactory.create().uuid), "allow": "Authorize"}
    )

    response = browser.post(
        url, {**consent_form(refused), "site": str(site.uuid), "allow": "Authorize"}
    )

    query = redirected_to_partner(response)
    assert query["state"] == "st-retry"
    assert Grant.objects.get(code=query["code"]).site == site


@pytest.mark.parametrize(
    "value", ["not-a-uuid", "", "1", "' OR 1=1 --", str(uuid.uuid4()), "{" + "0" * 31 + "}"]
)
def test_malformed_or_unknown_site_in_the_form_is_refused(browser, site, application, value):
    response = post_consent(browser, application, {"site": value, "allow": "Authorize"})

    assert response.status_code == 400
    assert not response.has_header("Location")
    assert "Choose one of your sites to connect." in page_text(response)
    assert not Grant.objects.exists()


def test_a_second_site_value_in_the_form_cannot_smuggle_a_stranger_site(browser, site, application):
    url = authorize_url(application)
    page = browser.get(url)
    stranger_site = SiteFactory.create()
    fields = {**consent_form(page), "allow": "Authorize", "site": str(site.uuid)}
    body = urlencode(fields) + "&" + urlencode({"site": str(stranger_site.uuid)})

    response = browser.post(url, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert not response.has_header("Location")
    assert not Grant.objects.exists()


def test_approve_redirect_carries_only_code_state_and_iss(browser, site, application):
    query = approve(browser, application, site)

    assert set(query) == {"code", "state", "iss"}
