"""The delivery job: the procrastinate task that makes one attempt, when it is tried
again, and how services queue it (`deliver_later`)."""

import asyncio
from datetime import timedelta

from django.utils import timezone
from procrastinate import BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.jobs import Job

from core.request_id import bound_request_id, current_request_id
from leads.models import Delivery

from .attempt import deliver_once
from .retry import RetryDelivery

DELIVERY_QUEUE = "deliveries"


class DeliveryRetryStrategy(BaseRetryStrategy):
    """Retries exactly when `deliver_once` asks, after the delay it chose (schedule, jitter,
    Retry-After). The job keeps its lock, so later events for the lead wait behind it."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):
            # The worker stopped (SIGTERM) before the partner answered, past
            # WORKER_SHUTDOWN_TIMEOUT: the delivery is still pending, so its job goes back
            # to the queue for the next worker rather than ending `aborted`.
            return RetryDecision(retry_in={"seconds": 1})
        if isinstance(exception, RetryDelivery):
            # Not int(): that would drop up to a second, and with it the jitter.
            return RetryDecision(retry_at=timezone.now() + timedelta(seconds=exception.delay))
        return None


# Named as when it was defined in leads/tasks.py: the jobs in the queue carry that name.
@app.task(
    name="leads.tasks.deliver",
    queue=DELIVERY_QUEUE,
    retry=DeliveryRetryStrategy(),
    pass_context=True,
)
async def deliver(context: JobContext, delivery_id: str, request_id: str | None = None) -> None:
    connector = context.app.connector
    if not isinstance(connector, PsycopgConnector):
        raise TypeError("Deliveries run in `manage.py procrastinate worker` (leads.worker_app)")
    with bound_request_id(request_id):  # the request that caused this delivery
        await deliver_once(
            delivery_id,
            database=connector.pool,
            deferrals=context.job.attempts if context.job else 0,
        )


def deliver_later(delivery: Delivery) -> None:
    """Queue the delivery's job, in the caller's transaction, with the request id if any."""
    request_id = current_request_id()
    deliver.configure(lock=delivery_lock(delivery)).defer(
        delivery_id=str(delivery.id), **({"request_id": request_id} if request_id else {})
    )


def delivery_lock(delivery: Delivery) -> str:
    """One lock per subscription and lead: requests for a lead arrive in commit order."""
    return f"delivery:{delivery.subscription_id}:{delivery.lead_id}"
