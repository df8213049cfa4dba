import pytest

from tests.factories import ApplicationFactory, SiteFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory.create()


@pytest.fixture
def site(user):
    return SiteFactory.create(owner=user)


@pytest.fixture
def application(db):
    return ApplicationFactory.create()


@pytest.fixture
def access_token(site, application):
    """A raw bearer token for `site` with both scopes."""
    from tests.factories import issue_access_token

    return issue_access_token(site=site, application=application)


@pytest.fixture
def production_mode(settings):
    """Production's webhook URL policy: no local-mode leniency, no private networks."""
    settings.LOCAL_MODE = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    return settings


@pytest.fixture
def fast_password_hashing(settings):
    """A cheap hasher for user passwords, for modules that create and log in many users.

    The configured hashers stay listed after it, so client secrets still verify.
    """
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
