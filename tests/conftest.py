import socket

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


class FakeDNS(dict[str, list[str]]):
    """Names to addresses, answering the project's DNS lookup; other names do not resolve."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, int]] = []

    def lookup(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self[host]


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    """Stubs `subscriptions.url_policy.lookup`: no test touches real DNS."""
    fake = FakeDNS()
    monkeypatch.setattr("subscriptions.url_policy.lookup", fake.lookup)
    return fake


@pytest.fixture
def fast_password_hashing(settings):
    """A cheap hasher for user passwords, for modules that create and log in many users.

    The configured hashers stay listed after it, so client secrets still verify.
    """
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Runs the on-commit callbacks (where metrics are counted, say) of the block it
    wraps: the test's transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
