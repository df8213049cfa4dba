"""procrastinate periodic task: drop ended rate-limit windows."""

import logging

from procrastinate.contrib.django import app

from .services import windows_prune

logger = logging.getLogger(__name__)


@app.periodic(cron="* * * * *", periodic_id="prune-rate-limit-windows")
@app.task(queue="maintenance", pass_context=False)
def prune_rate_limit_windows(timestamp: int) -> None:
    """Every minute: the table holds only current windows, however many addresses an
    attacker rotates through."""
    count = windows_prune()
    logger.debug("Pruned %d rate-limit windows", count)
