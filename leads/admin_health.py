"""The delivery health page in the admin: `/admin/leads/deliveryhealth/`, listed on the
admin index (through the DeliveryHealth proxy) and linked from the delivery log.

Per subscription and overall, over the last 24 hours or 7 days: finished deliveries by
outcome, the success rate, commit → answer p50 and p99, the backlog and the oldest
pending delivery, as charts and figures, with links into the delivery log filtered to
the failures. It reads the hourly rollups and the backlog counters (selectors.
delivery_health), never the deliveries themselves, so it costs the same at any volume;
it says how long it took.
"""

import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from core.admin_ui import ADMIN_CSS

from .charts import (
    DEFAULT_WINDOW,
    SERIES,
    WINDOWS,
    Window,
    latency_lines,
    latency_text,
    outcome_bars,
    slot_name,
    slots,
    window_start,
)
from .models import DeliveryHealth, DeliveryState
from .selectors import SubscriptionHealth, delivery_health

TEMPLATE = "admin/leads/deliveryhealth/health.html"
# Replaced by the time taken once the page is rendered; user data cannot contain it,
# since the template escapes every "<" that it prints.
RENDER_TIME = "<!-- render time -->"
# Rollups older than this are called stale: the task runs every minute.
STALE_AFTER = timedelta(minutes=5)
# A table cell with nothing to say.
NONE = "\N{EN DASH}"
# Postgres' bigint: a larger id is a bad request, not a database error.
MAX_ID = 2**63 - 1


class HealthQuery(forms.Form):
    window = forms.ChoiceField(
        choices=[(key, window.label) for key, window in WINDOWS.items()], required=False
    )
    subscription = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)


@admin.register(DeliveryHealth)
class DeliveryHealthAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    """Its change list is the health page; for those who may read the delivery log."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("leads.view_delivery")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name=f"{opts.app_label}_{opts.model_name}_changelist",
            )
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        started = time.perf_counter()
        if not self.has_view_permission(request):
            raise PermissionDenied
        queries = _QueryCounter()
        with connection.execute_wrapper(queries):
            context, status = self._page(request)
            html = render_to_string(TEMPLATE, context, request=request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        taken = f"{elapsed_ms:.0f} ms, {queries.count} database queries"
        # The last one: the footer's. Escaped data never holds a "<".
        head, _, tail = html.rpartition(RENDER_TIME)
        response = HttpResponse(head + taken + tail, status=status)
        response["Server-Timing"] = f"render;dur={elapsed_ms:.1f}"
        return response

    def _page(self, request: HttpRequest) -> tuple[dict[str, Any], int]:
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Delivery health",
            "render_time": RENDER_TIME,
            "admin_css": ADMIN_CSS,
            "windows": WINDOWS.values(),
        }
        query = HealthQuery(request.GET)
        if not query.is_valid():
            return {**context, "errors": query.errors, "window": DEFAULT_WINDOW}, 400
        window = WINDOWS.get(query.cleaned_data["window"] or "", DEFAULT_WINDOW)
        subscription_id = query.cleaned_data["subscription"]
        now = timezone.now()
        since = window_start(window, now)
        health = delivery_health(since=since, subscription_id=subscription_id)
        if health is None:
            raise Http404("No subscription with this id.")
        bars = slots(window, since, health.hours)
        failures = _failures_url(since)
        return {
            **context,
            "window": window,
            "health": health,
            "selected_name": _name(health.selected) if health.selected else "",
            "outcomes": health.outcomes,
            "success_rate": _percent(health.outcomes.success_rate),
            "p50": latency_text(health.outcomes.p50),
            "p99": latency_text(health.outcomes.p99),
            "charts": [outcome_bars(window, bars), latency_lines(window, bars)],
            "series": SERIES,
            "slot_name": slot_name(window),
            "slot_rows": [
                {
                    "label": slot.label,
                    "outcomes": slot.outcomes,
                    "p50": latency_text(slot.outcomes.p50, none=NONE),
                    "p99": latency_text(slot.outcomes.p99, none=NONE),
                }
                for slot in reversed(bars)
            ],
            "failures_url": failures(health.selected),
            "rows": [_row(row, window, failures) for row in health.subscriptions],
            "stale": health.refreshed is None or now - health.refreshed > STALE_AFTER,
            "now": now,
        }, 200


class _QueryCounter:
    """Counts the statements the page sends (connection.execute_wrapper)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _failures_url(since: datetime) -> Callable[[SubscriptionHealth | None], str]:
    """The delivery log filtered to the failures finished in the window: all of them, or
    those of one subscription (or of deleted subscriptions)."""
    base = reverse("admin:leads_delivery_changelist")

    def url(row: SubscriptionHealth | None) -> str:
        query: dict[str, str] = {
            "state__exact": DeliveryState.FAILED,
            "finished__gte": since.isoformat(),
        }
        if row is not None and row.subscription is not None:
            query["subscription__id__exact"] = str(row.subscription_id)
        elif row is not None:
            query["subscription__isnull"] = "True"
        return f"{base}?{urlencode(query)}"

    return url


def _percent(rate: float | None) -> str:
    """Rounded down to a tenth: 99.96% with a failure is 99.9%, never 100%."""
    return NONE if rate is None else f"{math.floor(rate * 1000) / 10:g}%"


def _name(row: SubscriptionHealth) -> str:
    subscription = row.subscription
    if subscription is None:
        return "Deleted subscription"
    return f"{subscription.application.name} → {subscription.site.domain}"


def _row(
    row: SubscriptionHealth, window: Window, failures: Callable[[SubscriptionHealth], str]
) -> dict[str, Any]:
    subscription = row.subscription
    return {
        "health": row,
        "name": _name(row),
        "paused": subscription is not None and not subscription.active,
        "url": (
            "?" + urlencode({"window": window.key, "subscription": row.subscription_id})
            if subscription
            else None
        ),
        "failures_url": failures(row),
        "success_rate": _percent(row.outcomes.success_rate),
        "p50": latency_text(row.outcomes.p50, none=NONE),
        "p99": latency_text(row.outcomes.p99, none=NONE),
    }
