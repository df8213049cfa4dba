"""What the connected-apps page says about each connection, as plain values: the template
only places them (Django's template lookups cost more than the query on a 50-row page)."""

from datetime import UTC, datetime
from typing import Any

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .health import ConnectedApp, ConnectionHealth, DeliveryStatus


def breakable_domain(domain: str) -> SafeString:
    """A domain, escaped, that a narrow column may wrap after its dots, where browsers find
    no break of their own ("www.<wbr>example.<wbr>com"): a long one wraps between its
    labels rather than mid-word."""
    # escape() leaves every "." as it is and adds none: the only markup is the hints.
    return mark_safe(escape(domain).replace(".", ".<wbr>"))  # noqa: S308


def utc_minute(moment: datetime) -> str:
    """E.g. "Dec 3, 2026, 14:05 UTC"."""
    moment = moment.astimezone(UTC)
    return f"{moment:%b} {moment.day}, {moment.year}, {moment:%H:%M} UTC"


def _utc_day(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%b} {moment.day}, {moment.year}"


def connected_app_row(row: ConnectedApp) -> dict[str, Any]:
    connection = row.connection
    return {
        "app": connection.application.name,
        "domain": connection.site.domain,
        "breakable_domain": breakable_domain(connection.site.domain),
        "connected": _utc_day(connection.created),
        "disconnect_url": reverse("oauth_provider:disconnect", args=[connection.pk]),
        "health": None
        if row.health is None
        else describe_health(row.health, connection.application.name),
    }


def describe_health(health: ConnectionHealth, app: str) -> dict[str, Any]:
    """What the page shows of one connection's health, `app` being its application's name."""
    status, label, advice = _status(health, app)
    return {
        "status": status,
        "label": label,
        "advice": advice,
        "host": breakable_domain(health.endpoint_host) if health.endpoint_host else "",
        # Nothing to count before the application has said where leads go.
        "facts": health.status != DeliveryStatus.NOT_SET_UP,
        "last_delivered": health.last_delivered and utc_minute(health.last_delivered),
        "last_delivered_iso": health.last_delivered and health.last_delivered.isoformat(),
        "recent_failures": health.recent_failures,
    }


def _status(health: ConnectionHealth, app: str) -> tuple[str, str, str]:
    """The status's CSS class, its label, and what to do about it, in one sentence or two."""
    since = f" since {utc_minute(health.paused_at)}" if health.paused_at else ""
    match health.status:
        case DeliveryStatus.NOT_SET_UP:
            return (
                "none",
                "Not set up",
                f"{app} has not told Real Geeks where to send leads yet, so none are sent. "
                f"Finish setting up the connection in {app}.",
            )
        case DeliveryStatus.PAUSED_GONE:
            return (
                "paused",
                "Paused",
                f"Paused{since}: {app} answered that it no longer wants these leads "
                f"(410 Gone), so none are sent. To resume, set up the connection again in {app}.",
            )
        case DeliveryStatus.PAUSED:
            return (
                "paused",
                "Paused",
                f"Paused by Real Geeks staff{since}, so no leads are sent. "
                "Contact Real Geeks support to resume.",
            )
    if health.recent_failures:
        leads = "lead" if health.recent_failures == 1 else "leads"
        return (
            "failing",
            "Failing",
            f"{app} did not accept {health.recent_failures} {leads} in the last 24 hours. "
            f"Real Geeks keeps retrying for a while; if this goes on, contact {app}'s support.",
        )
    return (
        "active",
        "Active",
        f"Leads are sent to {app} as they are added or updated. Nothing to do.",
    )
