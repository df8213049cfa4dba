"""Sending one delivery: the signed POST and what its answer means.

It runs on the worker's event loop: the database through the worker's own psycopg pool
in plain SQL, the partner through httpx's async client. One worker process then keeps
many requests in flight without a thread each, and spends its CPU on deliveries rather
than on the ORM (a delivery's two queries cost ten times their execution when built by
the ORM, measured) or on handing work to threads.
"""

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from realgeeks import metrics
from subscriptions.crypto import UNREADABLE_DELIVERY_ERROR, SecretUnreadable, decrypt_secret
from subscriptions.http_transport import CheckedTransport
from subscriptions.models import DEACTIVATED_BY_410, Subscription
from subscriptions.url_policy import UnresolvedHost, UnsafeURL, webhook_destination

from .models import Delivery, DeliveryState
from .selectors import delivery_attempt

logger = logging.getLogger(__name__)

USER_AGENT = "RealGeeks-LeadRouter/1.0 (PieSync integration)"
SNIPPET_BYTES = 512
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass
class LoopState:
    """What deliveries on one event loop share: the HTTP client, whose connections to a
    partner are reused, and the count of requests in flight per subscription."""

    client: httpx.AsyncClient
    in_flight: dict[int, int] = field(default_factory=dict)
    in_flight_changed: asyncio.Condition = field(default_factory=asyncio.Condition)


_loop_state: tuple[asyncio.AbstractEventLoop, LoopState] | None = None


def loop_state() -> LoopState:
    """The worker has one event loop for its life; tests run one per test."""
    global _loop_state
    loop = asyncio.get_running_loop()
    if _loop_state is None or _loop_state[0] is not loop:
        _loop_state = (loop, LoopState(client=new_http_client()))
    return _loop_state[1]


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        # Per operation; the 15 s for the whole request is enforced around it (`post`).
        timeout=httpx.Timeout(
            connect=settings.DELIVERY_CONNECT_TIMEOUT,
            read=settings.DELIVERY_TOTAL_TIMEOUT,
            write=settings.DELIVERY_TOTAL_TIMEOUT,
            pool=settings.DELIVERY_CONNECT_TIMEOUT,
        ),
        transport=CheckedTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        ),
        headers={"User-Agent": USER_AGENT},
    )


def sign(body: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the exact body bytes (reference §1.3)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RetryDelivery(Exception):
    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.1f}s")
        self.delay = delay


class PartnerBusy(RetryDelivery):
    """No attempt was made: the partner already has its share of requests in flight."""


# One failing partner never delays another: a partner that hangs holds each request up
# to the total timeout, and without a cap its backlog would take every slot of the
# worker. Each worker process lets at most DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION
# requests be in flight to one subscription; a delivery that finds no free slot (after
# a short wait, enough for a healthy partner's slot to free up) goes back to the queue
# with a growing delay, keeping its lock and so its place in its lead's order.
SLOT_WAIT_SECONDS = 0.25
BUSY_MAX_DELAY_SECONDS = 60.0


@asynccontextmanager
async def partner_slot(subscription_id: int) -> AsyncIterator[bool]:
    """Yields whether a slot was taken; it is given back on exit."""
    limit = settings.DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION
    state = loop_state()
    async with state.in_flight_changed:
        try:
            await asyncio.wait_for(
                state.in_flight_changed.wait_for(
                    lambda: state.in_flight.get(subscription_id, 0) < limit
                ),
                SLOT_WAIT_SECONDS,
            )
        except TimeoutError:
            taken = False
        else:
            taken = True
            state.in_flight[subscription_id] = state.in_flight.get(subscription_id, 0) + 1
    try:
        yield taken
    finally:
        if taken:
            async with state.in_flight_changed:
                state.in_flight[subscription_id] -= 1
                if not state.in_flight[subscription_id]:
                    del state.in_flight[subscription_id]
                state.in_flight_changed.notify_all()


def busy_delay(deferrals: int) -> float:
    """About 1 s, doubling with each deferral up to a minute, with jitter: a backlog
    behind a hanging partner does not spin the worker."""
    base = min(BUSY_MAX_DELAY_SECONDS, 2.0 ** min(deferrals, 10))
    return base * random.uniform(0.75, 1.25)  # noqa: S311 (jitter, not security)


@dataclass
class Answer:
    status_code: int | None
    error: str
    snippet: str
    retry_after: timedelta | None
    refused: bool = False  # the address guard said no: retrying will not help


async def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to the URL's host, connected to the address it resolved to, checked against
    private ranges outside local mode (subscriptions.http_transport), with
    DELIVERY_TOTAL_TIMEOUT for the whole exchange, lookup included (httpx's timeouts are
    per operation: a partner trickling its answer would otherwise hold the request for
    ever)."""
    try:
        async with (
            asyncio.timeout(settings.DELIVERY_TOTAL_TIMEOUT),
            loop_state().client.stream(
                "POST", webhook_destination(url), content=body, headers=headers
            ) as response,
        ):
            snippet = b""
            # As sent, not decompressed: a body that is not the gzip its header announces
            # must not turn a partner's 2xx into an error (and a resend).
            async for chunk in response.aiter_raw():
                snippet += chunk
                if len(snippet) >= SNIPPET_BYTES:
                    break
            return Answer(
                response.status_code,
                "" if response.is_success else f"HTTP {response.status_code}",
                # Whatever the bytes (binary, Latin-1, NUL): readable, and never an error.
                snippet[:SNIPPET_BYTES].decode("utf-8", "backslashreplace"),
                parse_retry_after(response.headers.get("Retry-After")),
            )
    except UnresolvedHost as exc:
        return Answer(None, f"Connection error: {exc}", "", None)
    except UnsafeURL as exc:
        return Answer(None, f"Refused: {exc}", "", None, refused=True)
    except TimeoutError:
        limit = settings.DELIVERY_TOTAL_TIMEOUT
        return Answer(None, f"Timeout: no answer within {limit:g} s", "", None)
    except httpx.TimeoutException as exc:
        return Answer(None, f"Timeout: {type(exc).__name__}", "", None)
    except httpx.HTTPError as exc:
        return Answer(None, f"Connection error: {type(exc).__name__}: {exc}", "", None)


def storable(text: str) -> str:
    """`text` as PostgreSQL accepts it: NUL and lone surrogates (which have no UTF-8 form)
    written as backslash escapes. A partner's answer or an exception's message can hold
    either, and a failed UPDATE would leave the delivery pending."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def parse_retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    try:
        # Clamped before timedelta(), which overflows on absurd values.
        seconds = int(value)
        delay = timedelta(seconds=min(max(0, seconds), MAX_RETRY_AFTER.total_seconds()))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        # RFC 9110 §5.6.7: an HTTP-date is GMT, the asctime form that names no zone too.
        delay = when.replace(tzinfo=when.tzinfo or UTC) - datetime.now(UTC)
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def is_retryable(answer: Answer) -> bool:
    """5xx, 408, 429, timeouts and connection errors may pass on a later try."""
    if answer.status_code is None:
        return not answer.refused
    return answer.status_code in (408, 429) or answer.status_code >= 500


def retry_delay(attempt: int, retry_after: timedelta | None) -> float | None:
    """Seconds before the next attempt, or None when the schedule is used up."""
    schedule: list[int] = settings.DELIVERY_RETRY_SCHEDULE
    if attempt > len(schedule):
        return None
    base = schedule[attempt - 1]
    delay = base * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not security)
    if retry_after is not None:
        delay = max(delay, retry_after.total_seconds())
    return delay


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
            await _record_unexpected(connection, delivery_id, exc)


async def _record_unexpected(
    connection: AsyncConnection[Any], delivery_id: str, exc: Exception
) -> None:
    """Counted as an attempt, so that an error that never goes away ends in `failed`
    once the schedule is used up rather than being retried for ever."""
    error = f"Unexpected error: {type(exc).__name__}: {exc}"
    async with connection.transaction():
        cursor = await connection.execute(_COUNT_ATTEMPT_SQL, [delivery_id])
        row = await cursor.fetchone()
        if row is None:  # finished or cancelled meanwhile
            return
        delay = retry_delay(row[0], None)
        if delay is None:
            await _finish(
                connection, delivery_id, DeliveryState.FAILED, error=f"{error}; retries exhausted"
            )
            return
        await _record(
            connection,
            delivery_id,
            pending_only=True,
            last_error=error,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
    metrics.count_deliveries(metrics.RETRIED)
    raise RetryDelivery(delay)


async def _attempt(delivery_id: str, *, database: AsyncConnectionPool[Any], deferrals: int) -> None:
    """The row is written back with targeted UPDATEs, never the whole row: while the request
    was in flight the subscription may have been deleted (its deliveries cancelled and
    their `subscription` set to NULL) or the delivery cancelled; writing the whole row
    would put the stale values back (a foreign key to a deleted row, a cancelled delivery
    revived). No database connection is held while the partner answers.
    """
    async with database.connection() as connection:
        delivery = await delivery_attempt(connection, delivery_id=delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return
        subscription = delivery.subscription
        if subscription is None or not subscription.active:
            await _finish(
                connection,
                delivery.id,
                DeliveryState.CANCELLED,
                error="Subscription deleted or deactivated",
            )
            return
        try:
            secret = decrypt_secret(subscription.secret_encrypted, subscription_id=subscription.pk)
        except SecretUnreadable:
            # Its key left SUBSCRIPTION_SECRET_KEYS too early: nothing to sign with. Failed
            # with the reason, for an admin to redeliver once the key or a new secret is in.
            await _finish(
                connection, delivery.id, DeliveryState.FAILED, error=UNREADABLE_DELIVERY_ERROR
            )
            return

    body = delivery.body
    started = time.monotonic()
    async with partner_slot(subscription.pk) as slot:
        if not slot:
            delay = busy_delay(deferrals)
            async with database.connection() as connection:
                still_pending = await _record(
                    connection,
                    delivery.id,
                    pending_only=True,
                    next_attempt_at=timezone.now() + timedelta(seconds=delay),
                )
            if still_pending:
                metrics.count_deliveries(metrics.DEFERRED)
                raise PartnerBusy(delay)
            return
        answer = await post(
            subscription.url,
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Lead-Router-Action": delivery.action,
                "X-Lead-Router-Signature": sign(body, secret),
                "X-Lead-Router-Timestamp": rfc3339_now(),
                "X-Lead-Router-Message-Id": delivery.id.hex,
            },
        )
    elapsed_ms = (time.monotonic() - started) * 1000
    # Commit to answer, for the metrics; a timeout or connection error is no answer.
    latency = time.time() - delivery.created.timestamp() if answer.status_code is not None else None
    attempts = delivery.attempts + 1
    attempt = {
        "attempts": attempts,
        "last_status_code": answer.status_code,
        "response_snippet": answer.snippet,
    }
    logger.info(
        "delivery %s attempt %d to subscription %s: %s in %.0f ms",
        delivery.id,
        attempts,
        subscription.pk,
        answer.status_code or answer.error,
        elapsed_ms,
    )

    async with database.connection() as connection:
        await _record_answer(connection, delivery.id, subscription.pk, answer, attempt, latency)


async def _record_answer(
    connection: AsyncConnection[Any],
    delivery_id: Any,
    subscription_id: int,
    answer: Answer,
    attempt: dict[str, Any],
    latency: float | None,
) -> None:
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        await _finish(
            connection, delivery_id, DeliveryState.DELIVERED, error="", latency=latency, **attempt
        )
    elif code == 406:
        await _finish(
            connection, delivery_id, DeliveryState.IGNORED, error="", latency=latency, **attempt
        )
    elif code == 410:
        async with connection.transaction():
            now = timezone.now()
            await connection.execute(
                _DEACTIVATE_SUBSCRIPTION_SQL, [now, DEACTIVATED_BY_410, now, subscription_id]
            )
            await _finish(
                connection,
                delivery_id,
                DeliveryState.FAILED,
                error="410 Gone: subscription deactivated",
                latency=latency,
                **attempt,
            )
    elif is_retryable(answer):
        delay = retry_delay(attempt["attempts"], answer.retry_after)
        if delay is None:
            await _finish(
                connection,
                delivery_id,
                DeliveryState.FAILED,
                error=f"{answer.error}; retries exhausted",
                latency=latency,
                **attempt,
            )
            return
        still_pending = await _record(
            connection,
            delivery_id,
            pending_only=True,
            last_error=answer.error,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            **attempt,
        )
        if still_pending:  # not cancelled meanwhile
            metrics.count_deliveries(metrics.RETRIED)
            raise RetryDelivery(delay)
    else:
        await _finish(
            connection,
            delivery_id,
            DeliveryState.FAILED,
            error=answer.error,
            latency=latency,
            **attempt,
        )


async def _finish(
    connection: AsyncConnection[Any],
    delivery_id: Any,
    state: DeliveryState,
    *,
    error: str,
    latency: float | None = None,
    **attempt: Any,
) -> None:
    """The final state, unless the delivery stopped being pending meanwhile (cancelled by
    a subscription DELETE while its request was in flight): then only the attempt is
    recorded, and the cancellation and its reason stay. `latency`: seconds from commit to
    the answer, for the metrics."""
    finished = await _record(
        connection,
        delivery_id,
        pending_only=True,
        state=state.value,
        finished=timezone.now(),
        next_attempt_at=None,
        last_error=error,
        **attempt,
    )
    if finished:
        metrics.count_deliveries(state, latency=latency)
    elif attempt:
        await _record(connection, delivery_id, pending_only=False, **attempt)


_DEACTIVATE_SUBSCRIPTION_SQL = (
    f"UPDATE {Subscription._meta.db_table} SET active = false, deactivated_at = %s, "  # noqa: S608
    "deactivated_reason = %s, updated = %s WHERE id = %s"
)
_DELIVERY_COLUMNS = {field.name: field.column for field in Delivery._meta.concrete_fields}
_COUNT_ATTEMPT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET attempts = attempts + 1, updated = now() "  # noqa: S608
    "WHERE id = %s AND state = 'pending' RETURNING attempts"
)


async def _record(
    connection: AsyncConnection[Any], delivery_id: Any, *, pending_only: bool, **fields: Any
) -> bool:
    """UPDATE the named fields of one delivery; whether a row was updated."""
    fields = {
        name: storable(value) if isinstance(value, str) else value for name, value in fields.items()
    }
    fields["updated"] = timezone.now()
    assignments = ", ".join(f"{_DELIVERY_COLUMNS[name]} = %s" for name in fields)
    condition = " AND state = 'pending'" if pending_only else ""
    cursor = await connection.execute(
        f"UPDATE {Delivery._meta.db_table} SET {assignments} WHERE id = %s{condition}",  # noqa: S608 (column names from the model)
        [*fields.values(), delivery_id],
    )
    return cursor.rowcount > 0
