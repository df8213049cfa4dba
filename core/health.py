"""Liveness and readiness, for load balancers and orchestrators."""

from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateWorker

from .conf import app_settings


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database; also the bench baseline."""
    return JsonResponse({"status": "ok"})


_migrations_applied = False


def _unapplied_migrations() -> int:
    """How many migrations are not applied; 0 is remembered, since code and schema only
    change together with a new process."""
    global _migrations_applied
    if _migrations_applied:
        return 0
    executor = MigrationExecutor(connection)
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _migrations_applied = pending == 0
    return pending


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, its schema is current, and a delivery worker is alive."""
    reasons = []
    try:
        pending = _unapplied_migrations()
        if pending:
            reasons.append(f"{pending} database migration(s) not applied")
        max_age = app_settings.READYZ_WORKER_HEARTBEAT_MAX_AGE
        if not ProcrastinateWorker.objects.filter(
            last_heartbeat__gte=timezone.now() - timedelta(seconds=max_age)
        ).exists():
            reasons.append(f"no delivery worker heartbeat in the last {max_age} s")
    except DatabaseError as exc:
        reasons.append(f"database unreachable: {type(exc).__name__}")
    if reasons:
        return JsonResponse({"status": "unavailable", "reasons": reasons}, status=503)
    return JsonResponse({"status": "ok"})
