"""procrastinate periodic task for the login records django-axes keeps."""

import logging

from axes.handlers.proxy import AxesProxyHandler
from procrastinate.contrib.django import app

from .conf import app_settings

logger = logging.getLogger(__name__)


@app.periodic(cron="47 3 * * *", periodic_id="prune-login-access-logs")
@app.task(queue="maintenance", pass_context=False)
def prune_login_access_logs(timestamp: int) -> None:
    """Daily: axes writes a row for every successful login; keep LOGIN_ACCESS_LOG_DAYS."""
    count = AxesProxyHandler.reset_logs(age_days=app_settings.LOGIN_ACCESS_LOG_DAYS)
    logger.info("Pruned %d login access log rows", count)
