"""procrastinate's app hook (settings.PROCRASTINATE_ON_APP_READY)."""

from django.conf import settings
from procrastinate import App, PsycopgConnector
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.utils import connector_params


def worker_connector() -> PsycopgConnector:
    """The worker's own pool, sized for its concurrency.

    procrastinate's default pool holds 4 connections, shared by the LISTEN connection,
    the heartbeat, the job-fetch loop and every job that finishes: with 10 jobs at once
    they queue for a connection, and one worker stalls near 80 deliveries/s.
    """
    concurrency = settings.PROCRASTINATE_WORKER_DEFAULTS["concurrency"]
    return PsycopgConnector(kwargs=connector_params(), min_size=4, max_size=concurrency + 4)


def on_app_ready(app: App) -> None:
    if isinstance(app.connector, DjangoConnector):
        # The `procrastinate worker` command swaps in this connector for the worker.
        app.connector.get_worker_connector = worker_connector  # type: ignore[method-assign]
