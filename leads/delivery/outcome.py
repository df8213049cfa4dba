"""What an attempt's outcome means for its delivery, written back and counted in the
metrics: delivered, ignored (406) or failed, or pending for another try (RetryDelivery)."""

from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone
from psycopg import AsyncConnection

from leads import metrics
from leads.models import DeliveryState
from subscriptions.models import DEACTIVATED_BY_410
from subscriptions.services import subscription_deactivate

from . import queries
from .http import Answer
from .queries import Attempt
from .retry import (
    PartnerBusy,
    RetryDelivery,
    busy_delay,
    is_retryable,
    parse_retry_after,
    retry_delay,
)


async def record_answer(
    connection: AsyncConnection[Any],
    delivery_id: Any,
    subscription_id: int,
    answer: Answer,
    attempt: Attempt,
    latency: float | None,
) -> None:
    """`latency`: seconds from commit to the answer, for the metrics (None: no answer)."""
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        state, error = DeliveryState.DELIVERED, ""
    elif code == 406:
        state, error = DeliveryState.IGNORED, ""
    elif code == 410:
        # Deactivated first, and committed: once the delivery shows failed, its
        # subscription shows inactive.
        await _deactivate_gone(subscription_id)
        state, error = DeliveryState.FAILED, "410 Gone: subscription deactivated"
    elif not is_retryable(answer):
        state, error = DeliveryState.FAILED, answer.error
    else:
        delay = retry_delay(attempt.attempts, parse_retry_after(answer.retry_after))
        if delay is not None:
            still_pending = await queries.retry_later(
                connection,
                delivery_id,
                error=answer.error,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                attempt=attempt,
            )
            if still_pending:  # not cancelled meanwhile
                metrics.count_deliveries(metrics.RETRIED)
                raise RetryDelivery(delay)
            return
        state, error = DeliveryState.FAILED, f"{answer.error}; retries exhausted"
    await finish(connection, delivery_id, state, error=error, attempt=attempt, latency=latency)


async def record_unexpected(
    connection: AsyncConnection[Any], delivery_id: str, exc: Exception
) -> None:
    """Counted as an attempt, so that an error that never goes away ends in `failed`
    once the schedule is used up rather than being retried for ever."""
    error = f"Unexpected error: {type(exc).__name__}: {exc}"
    async with connection.transaction():
        attempts = await queries.count_attempt(connection, delivery_id)
        if attempts is None:  # finished or cancelled meanwhile
            return
        delay = retry_delay(attempts, None)
        if delay is None:
            await finish(
                connection, delivery_id, DeliveryState.FAILED, error=f"{error}; retries exhausted"
            )
            return
        await queries.retry_later(
            connection,
            delivery_id,
            error=error,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            attempt=None,
        )
    metrics.count_deliveries(metrics.RETRIED)
    raise RetryDelivery(delay)


async def record_busy(connection: AsyncConnection[Any], delivery_id: Any, deferrals: int) -> None:
    """No free slot with the partner: back to the queue later (PartnerBusy), no attempt
    made, unless it was cancelled meanwhile. `deferrals`: how many times it already was."""
    delay = busy_delay(deferrals)
    still_pending = await queries.postpone(
        connection, delivery_id, next_attempt_at=timezone.now() + timedelta(seconds=delay)
    )
    if still_pending:
        metrics.count_deliveries(metrics.DEFERRED)
        raise PartnerBusy(delay)


async def finish(
    connection: AsyncConnection[Any],
    delivery_id: Any,
    state: DeliveryState,
    *,
    error: str,
    attempt: Attempt | None = None,
    latency: float | None = None,
) -> None:
    """The final state, unless the delivery stopped being pending meanwhile (cancelled by
    a subscription DELETE while its request was in flight): then only the attempt is
    recorded, and the cancellation and its reason stay."""
    finished = await queries.finish(
        connection, delivery_id, state=state.value, error=error, attempt=attempt
    )
    if finished:
        metrics.count_deliveries(state, latency=latency)
    elif attempt is not None:
        await queries.record_attempt(connection, delivery_id, attempt)


@sync_to_async
def _deactivate_gone(subscription_id: int) -> None:
    """The subscriptions service, on Django's connection in asgiref's thread. That
    connection is closed again as after a request: for async jobs no task middleware does
    it (leads.worker_app)."""
    close_old_connections()
    try:
        subscription_deactivate(subscription_id=subscription_id, reason=DEACTIVATED_BY_410)
    finally:
        close_old_connections()
