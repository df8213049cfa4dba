"""The worker's SQL: the named queries of queries.sql, read once, and the functions that
run them on a connection of the worker's own pool.

Every write to a delivery is a targeted UPDATE, never the whole row: while its request
was in flight the subscription may have been deleted (its deliveries cancelled and their
`subscription` set to NULL) or the delivery cancelled, and writing the whole row would
put the stale values back (a foreign key to a deleted row, a cancelled delivery revived).
"""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.utils import timezone
from psycopg import AsyncConnection

# "-- name --", then the comment lines that describe it (procrastinate's queries.sql).
QUERY_HEADER = re.compile(r"^-- ([a-z_]+) --\n(?:--.*\n)*", re.MULTILINE)


def load_queries(text: str) -> dict[str, str]:
    """The queries of a queries.sql text by name; what precedes the first is a comment."""
    _, *parts = QUERY_HEADER.split(text)
    return {name: query.strip() for name, query in zip(parts[::2], parts[1::2], strict=True)}


QUERIES = load_queries(Path(__file__).with_name("queries.sql").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Target:
    """Where a delivery goes, read at send time. The secret is still encrypted: the
    sender decrypts it (subscriptions.crypto.decrypt_secret)."""

    pk: int
    url: str
    secret_encrypted: str
    active: bool


@dataclass(frozen=True)
class DeliveryAttempt:
    id: uuid.UUID
    action: str
    state: str
    attempts: int
    body: bytes
    subscription: Target | None
    created: datetime  # written in the lead's transaction: its commit time, near enough

    @property
    def pk(self) -> uuid.UUID:
        return self.id


@dataclass(frozen=True)
class Attempt:
    """What one request to the partner leaves on its delivery."""

    attempts: int
    last_status_code: int | None
    response_snippet: str


async def delivery_attempt(
    connection: AsyncConnection[Any], *, delivery_id: str | uuid.UUID
) -> DeliveryAttempt | None:
    """What one webhook request needs, in one query."""
    cursor = await connection.execute(
        QUERIES["delivery_attempt"], {"delivery_id": str(delivery_id)}
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    id_, action, state, attempts, body, sub_id, url, secret_encrypted, active, created = row
    target = Target(sub_id, url, secret_encrypted, active) if sub_id is not None else None
    return DeliveryAttempt(id_, action, state, attempts, bytes(body), target, created)


async def finish(
    connection: AsyncConnection[Any],
    delivery_id: Any,
    *,
    state: str,
    error: str,
    attempt: Attempt | None,
) -> bool:
    """The final state, with what the request left if one was made; whether the delivery
    was still pending."""
    fields = {"state": state, "finished": timezone.now(), "last_error": error}
    if attempt is None:
        return await _update(connection, "finish", delivery_id, **fields)
    return await _update(
        connection, "finish_after_attempt", delivery_id, **fields, **_attempt_fields(attempt)
    )


async def record_attempt(
    connection: AsyncConnection[Any], delivery_id: Any, attempt: Attempt
) -> None:
    """What the request left, on a delivery that is no longer pending."""
    await _update(connection, "record_attempt", delivery_id, **_attempt_fields(attempt))


async def retry_later(
    connection: AsyncConnection[Any],
    delivery_id: Any,
    *,
    error: str,
    next_attempt_at: datetime,
    attempt: Attempt | None,
) -> bool:
    """Another try at `next_attempt_at`; whether the delivery was still pending."""
    fields = {"last_error": error, "next_attempt_at": next_attempt_at}
    if attempt is None:
        return await _update(connection, "retry", delivery_id, **fields)
    return await _update(
        connection, "retry_after_attempt", delivery_id, **fields, **_attempt_fields(attempt)
    )


async def postpone(
    connection: AsyncConnection[Any], delivery_id: Any, *, next_attempt_at: datetime
) -> bool:
    """Another try at `next_attempt_at`, no attempt made; whether it was still pending."""
    return await _update(connection, "postpone", delivery_id, next_attempt_at=next_attempt_at)


async def count_attempt(connection: AsyncConnection[Any], delivery_id: Any) -> int | None:
    """One more attempt; the attempts then, or None when it is no longer pending."""
    cursor = await connection.execute(QUERIES["count_attempt"], {"delivery_id": delivery_id})
    row = await cursor.fetchone()
    return None if row is None else int(row[0])


def storable(text: str) -> str:
    """`text` as PostgreSQL accepts it: NUL and lone surrogates (which have no UTF-8 form)
    written as backslash escapes. A partner's answer or an exception's message can hold
    either, and a failed UPDATE would leave the delivery pending."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _attempt_fields(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempts": attempt.attempts,
        "last_status_code": attempt.last_status_code,
        "response_snippet": attempt.response_snippet,
    }


async def _update(
    connection: AsyncConnection[Any], name: str, delivery_id: Any, **fields: Any
) -> bool:
    """Run the UPDATE named `name` on one delivery; whether it updated the row."""
    values = {key: storable(v) if isinstance(v, str) else v for key, v in fields.items()}
    cursor = await connection.execute(
        QUERIES[name], {**values, "updated": timezone.now(), "delivery_id": delivery_id}
    )
    return cursor.rowcount > 0
