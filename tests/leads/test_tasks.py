import asyncio
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from leads.delivery.job import deliver
from leads.models import Delivery, DeliveryBacklog, DeliveryState
from leads.services import lead_create, lead_update
from leads.tasks import prune_finished_jobs, repair_delivery_backlogs, requeue_orphaned_deliveries
from tests.factories import SubscriptionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_password_hashing"),
]


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


def test_prune_finished_jobs_deletes_old_finished_jobs_and_keeps_the_rest(knobs):
    knobs.JOB_RETENTION_HOURS = 24
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


# --- deliveries whose job ended without them ----------------------------------------------


@pytest.fixture
def pending(site, application) -> Delivery:
    """A pending delivery, as a lead creation leaves it: its job waiting in the queue."""
    SubscriptionFactory.create(
        site=site, application=application, url="https://api.piesync.test/hook", secret="s3cret"
    )
    lead = lead_create(site=site, fields={"source": "Website"})
    Delivery.objects.filter(lead=lead).update(attempts=2, last_error="HTTP 503")
    return Delivery.objects.get(lead=lead)


def jobs_for(delivery: Delivery) -> list[tuple[str, str]]:
    """(status, lock) of the delivery's jobs, oldest first."""
    return [
        (job.status, job.lock)
        for job in ProcrastinateJob.objects.filter(
            task_name=deliver.name, args__delivery_id=str(delivery.pk)
        ).order_by("id")
    ]


def set_job_status(delivery: Delivery, status: str) -> None:
    """What a failed, aborted or cancelled job leaves (procrastinate's rows are read-only
    through Django)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = %s WHERE args->>'delivery_id' = %s",
            [status, str(delivery.pk)],
        )


@pytest.mark.parametrize("status", ["failed", "aborted", "cancelled", "succeeded"])
def test_a_pending_delivery_whose_job_ended_is_queued_again_where_its_schedule_left_off(
    pending, status
):
    set_job_status(pending, status)

    requeue_orphaned_deliveries(timestamp=0)

    lock = f"delivery:{pending.subscription_id}:{pending.lead_id}"
    assert jobs_for(pending) == [(status, lock), ("todo", lock)]
    pending.refresh_from_db()
    assert (pending.state, pending.attempts, pending.last_error) == ("pending", 2, "HTTP 503")


def test_a_pending_delivery_whose_job_was_deleted_is_queued_again(pending):
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE args->>'delivery_id' = %s", [str(pending.pk)]
        )

    requeue_orphaned_deliveries(timestamp=0)

    assert jobs_for(pending) == [("todo", f"delivery:{pending.subscription_id}:{pending.lead_id}")]


@pytest.mark.parametrize("status", ["todo", "doing"])
def test_a_pending_delivery_with_a_live_job_is_left_alone(pending, status):
    set_job_status(pending, status)

    requeue_orphaned_deliveries(timestamp=0)

    assert [job_status for job_status, _ in jobs_for(pending)] == [status]


def test_a_finished_delivery_is_not_queued_again(pending):
    set_job_status(pending, "succeeded")
    Delivery.objects.filter(pk=pending.pk).update(state=DeliveryState.DELIVERED)

    requeue_orphaned_deliveries(timestamp=0)

    assert [job_status for job_status, _ in jobs_for(pending)] == ["succeeded"]


def test_a_leads_deliveries_are_queued_again_in_commit_order(pending, site):
    """Their jobs share the lead's lock, which runs them in the order they were queued."""
    lead_update(site=site, lead_id=pending.lead_id, changes={"first_name": "Jacques"})
    updated = Delivery.objects.get(lead_id=pending.lead_id, action="updated")
    set_job_status(pending, "failed")
    set_job_status(updated, "failed")
    last_job = ProcrastinateJob.objects.order_by("-id").values_list("id", flat=True).first()

    requeue_orphaned_deliveries(timestamp=0)

    queued = ProcrastinateJob.objects.filter(id__gt=last_job).order_by("id")
    assert [job.args["delivery_id"] for job in queued] == [str(pending.pk), str(updated.pk)]


# --- the backlog counters ---------------------------------------------------------------


def test_a_backlog_counter_a_write_around_the_services_left_wrong_is_corrected(pending, caplog):
    Delivery.objects.filter(pk=pending.pk).update(state=DeliveryState.CANCELLED)

    repair_delivery_backlogs(timestamp=0)

    assert DeliveryBacklog.objects.get(subscription_id=pending.subscription_id).pending == 0
    assert f"Backlog counter of subscription {pending.subscription_id} said 1" in caplog.text
