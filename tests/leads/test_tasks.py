import asyncio
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from leads.tasks import prune_finished_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def add_job(status: str, finished_hours_ago: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args) "
            "VALUES ('deliveries', 'leads.tasks.deliver', %s, '{}') RETURNING id",
            [status],
        )
        job_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO procrastinate_events (job_id, type, at) "
            "VALUES (%s, %s, now() - make_interval(hours => %s))",
            [job_id, "succeeded" if status == "succeeded" else "failed", finished_hours_ago],
        )
    return job_id


def test_prune_finished_jobs_deletes_old_finished_jobs_and_keeps_the_rest(settings):
    settings.JOB_RETENTION_HOURS = 24
    old_success = add_job("succeeded", 48)
    old_failure = add_job("failed", 48)
    recent = add_job("succeeded", 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args) "
            "VALUES ('deliveries', 'leads.tasks.deliver', 'todo', '{}') RETURNING id"
        )
        waiting = cursor.fetchone()[0]

    context = SimpleNamespace(app=app)  # the task reads only context.app
    asyncio.run(prune_finished_jobs(context, timestamp=0))  # type: ignore[arg-type]
    # The Django connector queried from asgiref's thread; close that thread's connection.
    asyncio.run(sync_to_async(connections.close_all)())

    remaining = set(ProcrastinateJob.objects.values_list("id", flat=True))
    assert old_success not in remaining and old_failure not in remaining
    assert {recent, waiting} <= remaining
