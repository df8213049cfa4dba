"""subscriptions.services that the API tests do not reach: deactivation (after a 410, by
the delivery worker, tests/leads/test_delivery_worker.py end to end)."""

import pytest
from django.utils import timezone

from subscriptions.models import DEACTIVATED_BY_410, Subscription
from subscriptions.services import subscription_deactivate
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "https://api.piesync.test/hook"


@pytest.fixture
def subscription(site, application) -> Subscription:
    return SubscriptionFactory.create(site=site, application=application, url=URL, secret="s3cret")


def test_deactivate_stops_the_subscription_saying_since_when_and_why(subscription):
    before = timezone.now()

    deactivated = subscription_deactivate(
        subscription_id=subscription.pk, reason=DEACTIVATED_BY_410
    )

    assert deactivated is True
    subscription.refresh_from_db()
    assert (subscription.active, subscription.deactivated_reason) == (False, DEACTIVATED_BY_410)
    assert subscription.deactivated_at is not None
    assert before <= subscription.deactivated_at <= timezone.now()
    assert subscription.updated == subscription.deactivated_at


def test_deactivate_writes_only_its_columns(subscription):
    """Not a read then a save: a PUT's URL and secret, committed meanwhile, stay."""
    Subscription.objects.filter(pk=subscription.pk).update(url="https://new.piesync.test/hook")

    subscription_deactivate(subscription_id=subscription.pk, reason=DEACTIVATED_BY_410)

    subscription.refresh_from_db()
    assert (subscription.url, subscription.secret) == ("https://new.piesync.test/hook", "s3cret")


def test_deactivating_a_deleted_subscription_changes_nothing(subscription):
    subscription_id = subscription.pk
    subscription.delete()

    assert subscription_deactivate(subscription_id=subscription_id, reason="gone") is False
    assert not Subscription.objects.exists()
