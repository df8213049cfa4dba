"""procrastinate periodic tasks for the OAuth provider."""

import logging

from oauth2_provider.models import clear_expired
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)


@app.periodic(cron="7 * * * *", periodic_id="clear-expired-tokens")
@app.task(queue="maintenance", pass_context=False)
def clear_expired_tokens(timestamp: int) -> None:
    """Hourly: delete expired access tokens, refresh tokens past their lifetime, and
    expired codes (django-oauth-toolkit's `cleartokens`)."""
    clear_expired()
