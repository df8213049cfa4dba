"""The requests in flight per subscription: one failing partner never delays another.

A partner that hangs holds each request up to the total timeout, and without a cap its
backlog would take every slot of the worker. Each worker process lets at most
DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION requests be in flight to one subscription; a
delivery that finds no free slot (after a short wait, enough for a healthy partner's slot
to free up) goes back to the queue with a growing delay (retry.busy_delay), keeping its
lock and so its place in its lead's order.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from ..conf import app_settings

SLOT_WAIT_SECONDS = 0.25


@dataclass
class InFlight:
    """The requests in flight per subscription id on one event loop."""

    count: dict[int, int] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


_loop_in_flight: tuple[asyncio.AbstractEventLoop, InFlight] | None = None


def loop_in_flight() -> InFlight:
    """The worker has one event loop for its life; tests run one per test."""
    global _loop_in_flight
    loop = asyncio.get_running_loop()
    if _loop_in_flight is None or _loop_in_flight[0] is not loop:
        _loop_in_flight = (loop, InFlight())
    return _loop_in_flight[1]


@asynccontextmanager
async def partner_slot(subscription_id: int) -> AsyncIterator[bool]:
    """Yields whether a slot was taken; it is given back on exit."""
    limit = app_settings.DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION
    in_flight = loop_in_flight()
    async with in_flight.changed:
        try:
            await asyncio.wait_for(
                in_flight.changed.wait_for(lambda: in_flight.count.get(subscription_id, 0) < limit),
                SLOT_WAIT_SECONDS,
            )
        except TimeoutError:
            taken = False
        else:
            taken = True
            in_flight.count[subscription_id] = in_flight.count.get(subscription_id, 0) + 1
    try:
        yield taken
    finally:
        if taken:
            async with in_flight.changed:
                in_flight.count[subscription_id] -= 1
                if not in_flight.count[subscription_id]:
                    del in_flight.count[subscription_id]
                in_flight.changed.notify_all()
