from datetime import timedelta

from axes.models import AccessLog
from django.utils import timezone

from core.tasks import prune_login_access_logs


def login_record(*, days_ago: int) -> AccessLog:
    record = AccessLog.objects.create(username="demo", ip_address="192.0.2.1", user_agent="x")
    AccessLog.objects.filter(pk=record.pk).update(
        attempt_time=timezone.now() - timedelta(days=days_ago)
    )
    return record


def test_login_access_logs_older_than_the_retention_are_pruned(db, knobs):
    knobs.LOGIN_ACCESS_LOG_DAYS = 90
    old = login_record(days_ago=91)
    recent = login_record(days_ago=89)

    prune_login_access_logs(timestamp=int(timezone.now().timestamp()))

    assert list(AccessLog.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AccessLog.objects.filter(pk=old.pk).exists()
