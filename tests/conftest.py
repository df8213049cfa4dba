import pytest

from tests.factories import ApplicationFactory, SiteFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def site(user):
    return SiteFactory(owner=user)


@pytest.fixture
def application(db):
    return ApplicationFactory()
