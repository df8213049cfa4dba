import socket
from typing import Any

import pytest
from django.db import connection

from core.conf import AppSettings, declared_settings
from tests.factories import ApplicationFactory, SiteFactory, UserFactory


class Knobs:
    """pytest-django's `settings`, which also sets our apps' knobs by name:
    `knobs.DELIVERY_TOTAL_TIMEOUT = 1.0` sets `settings.LEADS["DELIVERY_TOTAL_TIMEOUT"]`
    (a string is parsed as the environment's would be); other names are Django settings.
    Restored after the test, like `settings`."""

    def __init__(self, settings) -> None:
        object.__setattr__(self, "_settings", settings)

    def __getattr__(self, name: str) -> Any:
        accessor = _declaring(name)
        return getattr(self._settings if accessor is None else accessor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        accessor = _declaring(name)
        if accessor is None:
            setattr(self._settings, name, value)
        else:
            given = getattr(self._settings, accessor.namespace)
            setattr(self._settings, accessor.namespace, {**given, name: value})


def _declaring(name: str) -> AppSettings | None:
    for _, accessor in declared_settings():
        if any(setting.name == name for setting in accessor.declarations()):
            return accessor
    return None


@pytest.fixture
def knobs(settings) -> Knobs:
    return Knobs(settings)


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
def production_mode(knobs):
    """Production's webhook URL policy: no local-mode leniency, no private networks."""
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    return knobs


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


@pytest.fixture
def new_connection() -> None:
    """The test's next statement on a new connection, which has prepared nothing
    (core.db): the current one back to the pool, and the pool closed."""
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's; not in django-stubs
