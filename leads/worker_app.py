"""procrastinate's app hook (settings.PROCRASTINATE_ON_APP_READY)."""

import select
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.contrib.django.db_cleanup import close_db_connections_async
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.utils import connector_params
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from .conf import app_settings


async def check_connection_if_suspect(connection: AsyncConnection[Any]) -> None:
    """A pool check that costs a round trip only when the connection looks unwell.

    procrastinate's pool checks every connection it hands out with an empty query, a
    round trip per query the worker makes (two per job). An idle connection that the
    server closed, or that has anything unread, has a readable socket: only then is it
    checked for real, and a failed check makes the pool replace it.
    """
    if connection.closed:
        raise ConnectionError("connection closed")
    poller = select.poll()  # not select(): it fails on descriptors past 1024
    poller.register(connection.fileno(), select.POLLIN)
    if poller.poll(0):
        await AsyncConnectionPool.check_connection(connection)


async def use_autocommit(connection: AsyncConnection[Any]) -> None:
    await connection.set_autocommit(True)


def worker_pool(**kwargs: Any) -> AsyncConnectionPool:
    """procrastinate's pool, with two round trips less for each query the worker makes:
    autocommit (every query it sends is one statement, and a pooled connection otherwise
    sends COMMIT when handed back) and the cheap check above."""
    return AsyncConnectionPool(
        **{**kwargs, "check": check_connection_if_suspect, "configure": use_autocommit}
    )


def worker_connector() -> PsycopgConnector:
    """The worker's own pool, larger than procrastinate's default of 4 connections:
    those are shared by the LISTEN connection, the heartbeat, the job-fetch loop, every
    job's queries and every finished job, and one worker stalled near 80 deliveries/s
    waiting for them."""
    return PsycopgConnector(
        kwargs=connector_params(),
        min_size=4,
        max_size=app_settings.WORKER_DATABASE_POOL_MAX_SIZE,
        pool_factory=worker_pool,
    )


def on_app_ready(app: App) -> None:
    if isinstance(app.connector, DjangoConnector):
        # The `procrastinate worker` command swaps in this connector for the worker.
        app.connector.get_worker_connector = worker_connector  # type: ignore[method-assign]
    # procrastinate's Django app closes Django's connections around every async task,
    # through two hops to a single shared thread: a third of a delivery's CPU, and a
    # queue that every job waits in. Our async tasks use the worker's own pool
    # (leads.delivery), and the one call they make on Django's connection (a 410's
    # subscription_deactivate) closes it itself, so only sync tasks keep it.
    middleware = app.worker_defaults.get("task_middleware", [])
    app.worker_defaults["task_middleware"] = [
        each for each in middleware if each is not close_db_connections_async
    ]
