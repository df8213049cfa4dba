"""One attempt at a delivery, top to bottom: read it, check it may go, take a slot with
its partner, send it signed, and write back what the answer means.

No database connection is held while the partner answers.
"""

import logging
import time
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from leads.models import DeliveryState
from subscriptions.crypto import UNREADABLE_DELIVERY_ERROR, SecretUnreadable, decrypt_secret

from . import queries
from .http import post, signed_headers
from .outcome import finish, record_answer, record_busy, record_unexpected
from .queries import Attempt, DeliveryAttempt, Target
from .retry import RetryDelivery
from .slots import partner_slot

logger = logging.getLogger(__name__)


async def deliver_once(
    delivery_id: str, *, database: AsyncConnectionPool[Any], deferrals: int = 0
) -> None:
    """One attempt. Raises RetryDelivery when the answer deserves another try, and
    PartnerBusy (without attempting) when the partner has no free slot; `deferrals` is
    how many times the job has already been put back, for the backoff of the latter.

    Any other error (from the partner's answer, the stored URL or secret, or this code)
    is recorded on the delivery and retried on the normal schedule: a job that failed
    would leave its delivery pending, and nothing would ever send or finish it.
    """
    try:
        await _attempt(delivery_id, database=database, deferrals=deferrals)
    except RetryDelivery:
        raise
    except Exception as exc:
        logger.exception("delivery %s: unexpected error", delivery_id)
        async with database.connection() as connection:
            await record_unexpected(connection, delivery_id, exc)


async def _attempt(delivery_id: str, *, database: AsyncConnectionPool[Any], deferrals: int) -> None:
    async with database.connection() as connection:
        sendable = await _sendable(connection, delivery_id)
    if sendable is None:
        return
    delivery, subscription, secret = sendable
    started = time.monotonic()
    async with partner_slot(subscription.pk) as slot:
        if not slot:
            async with database.connection() as connection:
                await record_busy(connection, delivery.id, deferrals)
            return
        answer = await post(
            subscription.url,
            body=delivery.body,
            headers=signed_headers(
                delivery.body, secret=secret, action=delivery.action, message_id=delivery.id.hex
            ),
        )
    elapsed_ms = (time.monotonic() - started) * 1000
    # Commit to answer, for the metrics; a timeout or connection error is no answer.
    latency = time.time() - delivery.created.timestamp() if answer.status_code is not None else None
    attempt = Attempt(
        attempts=delivery.attempts + 1,
        last_status_code=answer.status_code,
        response_snippet=answer.snippet,
    )
    logger.info(
        "delivery %s attempt %d to subscription %s: %s in %.0f ms",
        delivery.id,
        attempt.attempts,
        subscription.pk,
        answer.status_code or answer.error,
        elapsed_ms,
    )
    async with database.connection() as connection:
        await record_answer(connection, delivery.id, subscription.pk, answer, attempt, latency)


async def _sendable(
    connection: AsyncConnection[Any], delivery_id: str
) -> tuple[DeliveryAttempt, Target, str] | None:
    """The pending delivery, its subscription and the plaintext secret to sign with; None
    when there is nothing to send, the delivery then finished with the reason."""
    delivery = await queries.delivery_attempt(connection, delivery_id=delivery_id)
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return None
    subscription = delivery.subscription
    if subscription is None or not subscription.active:
        await finish(
            connection,
            delivery.id,
            DeliveryState.CANCELLED,
            error="Subscription deleted or deactivated",
        )
        return None
    try:
        secret = decrypt_secret(subscription.secret_encrypted, subscription_id=subscription.pk)
    except SecretUnreadable:
        # Its key left SUBSCRIPTION_SECRET_KEYS too early: nothing to sign with. Failed
        # with the reason, for an admin to redeliver once the key or a new secret is in.
        await finish(connection, delivery.id, DeliveryState.FAILED, error=UNREADABLE_DELIVERY_ERROR)
        return None
    return delivery, subscription, secret
