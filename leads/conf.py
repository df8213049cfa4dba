"""leads' settings (core/conf.py): activities, the Incoming Leads API's body limit,
webhook delivery (retries, timeouts, per-partner caps), recovery and retention."""

from core.conf import AppSettings, Setting, parse_float, parse_int, parse_list, parse_str


class LeadsSettings(AppSettings):
    namespace = "LEADS"

    INCOMING_API_MAX_BODY_BYTES = Setting(
        parse_int,
        default="262144",
        help="the Incoming Leads API answers 413 above this many bytes (256 KiB)",
    )
    LEAD_REQUEST_MAX_ACTIVITIES = Setting(
        parse_int,
        default="100",
        help="activities one request may add (more: 422, nothing written)",
    )
    LEAD_MAX_ACTIVITIES = Setting(
        parse_int,
        default="10000",
        help="activities one lead may hold (more: 422, nothing written)",
    )
    LEAD_PAYLOAD_MAX_ACTIVITIES = Setting(
        parse_int,
        default="100",
        help="the most recent activities an event's body carries "
        "([webhooks](webhooks.md#the-request))",
    )
    DELIVERY_RETRY_SCHEDULE = Setting(
        parse_list(parse_int),
        default="5,60,300,1800,7200,18000,36000,50400,72000,86400",
        help="seconds before each retry of a delivery (5xx, 408, 429, timeout, connection "
        "error), ±20% jitter, a longer Retry-After honoured "
        "([webhooks](webhooks.md#answers-and-retries)); the default is ten retries over "
        "about three days, then failed",
    )
    DELIVERY_CONNECT_TIMEOUT = Setting(
        parse_float, default="5", help="seconds to connect to a partner"
    )
    DELIVERY_TOTAL_TIMEOUT = Setting(
        parse_float, default="15", help="seconds for a whole delivery request"
    )
    DELIVERY_MAX_PENDING_PER_SUBSCRIPTION = Setting(
        parse_int,
        default="10000",
        help="past this, new deliveries for a partner that stays down are recorded as failed",
    )
    DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION = Setting(
        parse_int,
        default="5",
        help="requests one worker process keeps in flight to one subscription, so a "
        "hanging partner never takes every slot (`WORKER_CONCURRENCY`) from the others",
    )
    DELIVERY_RECOVERY_CRON = Setting(
        parse_str,
        default="* * * * *",
        help="when the recovery tasks run: they requeue the jobs of dead workers, and queue "
        "again pending deliveries whose job ended",
    )
    DELIVERY_RETENTION_DAYS = Setting(
        parse_int,
        default="30",
        help="delivered and ignored delivery rows are pruned daily after this",
    )
    JOB_RETENTION_HOURS = Setting(
        parse_int,
        default="168",
        help="finished procrastinate jobs are deleted after this (7 days)",
    )
    WORKER_DATABASE_POOL_MAX_SIZE = Setting(
        parse_int,
        default="20",
        help="PostgreSQL connections of one worker process (a job holds one only while it queries)",
    )


app_settings = LeadsSettings()
