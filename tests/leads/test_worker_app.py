"""The delivery worker's own connection pool (leads.worker_app.worker_pool)."""

import asyncio

import psycopg
import pytest
from django.db import connection as django_connection
from procrastinate.contrib.django.utils import connector_params

from leads.worker_app import worker_pool
from tests.leads.worker import conninfo


def terminate_backend(pid: int) -> None:
    with psycopg.connect(conninfo(django_connection.settings_dict), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db
def test_a_connection_the_server_closed_is_replaced_before_it_is_handed_out():
    async def scenario() -> tuple[int, int, tuple[int, ...] | None]:
        async with worker_pool(
            kwargs=connector_params(), min_size=1, max_size=1, open=False
        ) as pool:
            async with pool.connection() as connection:
                first_pid = connection.info.backend_pid
            terminate_backend(first_pid)
            await asyncio.sleep(0.2)  # the server's goodbye reaches the idle socket
            async with pool.connection() as connection:
                cursor = await connection.execute("SELECT 1")
                return first_pid, connection.info.backend_pid, await cursor.fetchone()

    first_pid, second_pid, row = asyncio.run(scenario())

    assert row == (1,)
    assert second_pid != first_pid


@pytest.mark.django_db
def test_worker_connections_are_in_autocommit():
    async def scenario() -> bool:
        async with (
            worker_pool(kwargs=connector_params(), min_size=1, max_size=1, open=False) as pool,
            pool.connection() as connection,
        ):
            return connection.autocommit

    assert asyncio.run(scenario()) is True
