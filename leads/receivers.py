"""Receivers of the signals of the apps below this one (connected in apps.py)."""

from typing import Any

from .services import deliveries_cancel_pending


def cancel_deliveries_of_deleted_subscription(
    sender: object, *, subscription_id: int, **kwargs: Any
) -> None:
    """What waits to be delivered to a subscription being deleted is cancelled in the
    deletion's transaction, so it is never sent and never left pending."""
    deliveries_cancel_pending(
        subscription_id=subscription_id, reason="Subscription deleted before delivery"
    )
