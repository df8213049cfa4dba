from datetime import timedelta

from django.utils import timezone

from ratelimits.models import RateLimitWindow
from ratelimits.tasks import prune_rate_limit_windows


def test_the_periodic_task_drops_ended_windows(db):
    now = timezone.now()
    RateLimitWindow.objects.create(key="ended", window_end=now - timedelta(minutes=1), hits=1)
    RateLimitWindow.objects.create(key="current", window_end=now + timedelta(minutes=1), hits=1)

    prune_rate_limit_windows(timestamp=int(now.timestamp()))

    assert list(RateLimitWindow.objects.values_list("key", flat=True)) == ["current"]
