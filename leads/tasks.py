"""procrastinate's periodic tasks for deliveries: recovery of jobs whose worker died or
that ended without their delivery, the backlog counters' check, the health page's
hourly rollups, and pruning. The delivery job itself, which services queue, is
leads.delivery.job.deliver."""

import logging
from datetime import timedelta

from django.conf import settings
from procrastinate import JobContext
from procrastinate.contrib.django import app

from .conf import app_settings
from .services import (
    deliveries_prune,
    deliveries_requeue_orphaned,
    delivery_backlogs_repair,
    delivery_hours_refresh,
)

logger = logging.getLogger(__name__)


@app.periodic(cron=app_settings.DELIVERY_RECOVERY_CRON, periodic_id="recover-stalled-jobs")
@app.task(queue="maintenance", pass_context=True)
async def recover_stalled_jobs(context, timestamp: int) -> None:  # type: ignore[no-untyped-def]
    """Requeue jobs whose worker stopped sending heartbeats (killed, or its machine lost).

    procrastinate leaves them in `doing` by default. No `lock` here: it must run even
    while deliveries hold theirs.
    """
    # DELIVERY_STALLED_AFTER_SECONDS, which is also the worker's own stalled timeout.
    stalled = await context.app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
    )
    for job in stalled:
        logger.warning("Requeueing stalled job %s (%s)", job.id, job.task_name)
        await context.app.job_manager.retry_job(job)


@app.periodic(cron=app_settings.DELIVERY_RECOVERY_CRON, periodic_id="requeue-orphaned-deliveries")
@app.task(queue="maintenance", pass_context=False)
def requeue_orphaned_deliveries(timestamp: int) -> None:
    """Queue again the pending deliveries whose job ended without them (it failed, was
    aborted, cancelled or deleted): otherwise nothing would ever send or finish them."""
    count = deliveries_requeue_orphaned()
    if count:
        logger.warning("Requeued %d pending deliveries whose job had ended", count)


@app.periodic(cron=app_settings.DELIVERY_RECOVERY_CRON, periodic_id="repair-delivery-backlogs")
@app.task(queue="maintenance", pass_context=False)
def repair_delivery_backlogs(timestamp: int) -> None:
    """Correct any backlog counter that differs from its pending deliveries (each one
    found is logged as a warning: a write went around the services)."""
    delivery_backlogs_repair()


@app.periodic(cron="* * * * *", periodic_id="refresh-delivery-hours")
@app.task(queue="maintenance", pass_context=False)
def refresh_delivery_hours(timestamp: int) -> None:
    """Every minute: recount the delivery health page's hourly rollups of the last hours
    (and of any hour a missed run left), so the page is at most about a minute behind."""
    written, deleted = delivery_hours_refresh()
    logger.debug("Delivery hours recounted: %d written, %d deleted", written, deleted)


@app.periodic(cron="17 3 * * *", periodic_id="prune-delivered")
@app.task(queue="maintenance", pass_context=False)
def prune_delivered(timestamp: int) -> None:
    """Daily: drop delivered and ignored deliveries older than DELIVERY_RETENTION_DAYS."""
    count = deliveries_prune(older_than=timedelta(days=app_settings.DELIVERY_RETENTION_DAYS))
    logger.info("Pruned %d delivered deliveries", count)


@app.periodic(cron="37 * * * *", periodic_id="prune-finished-jobs")
@app.task(queue="maintenance", pass_context=True)
async def prune_finished_jobs(context: JobContext, timestamp: int) -> None:
    """Hourly: drop procrastinate jobs finished more than JOB_RETENTION_HOURS ago, failed
    ones too: a delivery's outcome lives in its Delivery row, not in its job."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=app_settings.JOB_RETENTION_HOURS,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )
