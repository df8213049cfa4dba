"""Lead create (POST /rest/sites/<site>/leads with client Basic credentials) in-process:
CPU per request of this Python process and of the database's backends, and the
statements one request sends. For A/B comparisons of two checkouts, each on its own
database, run in turn (interleaved rounds); the machine is shared, so compare medians.

    BENCH_DATABASE_URL=postgres://.../db .venv/bin/python -m bench.profile_lead_create \
        [--requests 1000] [--warmup 200] [--backlog 10000] [--statements]

`--backlog N`: a second partner subscribed to the site, with N deliveries pending (a
partner that is down; at 10,000, DELIVERY_MAX_PENDING_PER_SUBSCRIPTION, every new one
to it is refused). Prints one JSON line.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from typing import Any

import django

from . import config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=0)
    parser.add_argument("--statements", action="store_true", help="print one request's SQL")
    parser.add_argument("--cprofile", action="store_true", help="print where Python's time goes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-metrics-") as metrics_directory:
        os.environ.update(config.production_environment(metrics_directory))
        os.environ["ALLOWED_HOSTS"] = "testserver"
        django.setup()
        print(json.dumps(measure(args)))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    site_uuid, authorization = _fixtures(backlog=args.backlog)
    client = Client(
        headers={"Authorization": authorization, "X-Forwarded-Proto": "https"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="127.0.0.1",
    )
    path = f"/rest/sites/{site_uuid}/leads"

    def post() -> None:
        body = {
            "id": uuid.uuid4().hex,
            "source": "bench",
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann@example.com",
            "phone": "808-555-0100",
            "role": "Buyer",
        }
        response = client.post(path, json.dumps(body), content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"{response.status_code} {response.content!r}")

    for _ in range(args.warmup):
        post()
    statements: list[str] = []
    if args.statements:

        def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            statements.append(" ".join(sql.split())[:160])
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            post()
    if args.cprofile:
        import cProfile
        import pstats

        with cProfile.Profile(time.process_time) as profile:  # CPU, not the waits
            for _ in range(args.requests):
                post()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    backends = _backends(config.DATABASE_NAME)
    database_before = sum(_ticks(pid) for pid in backends)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    for _ in range(args.requests):
        post()
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    database = (sum(_ticks(pid) for pid in backends) - database_before) / os.sysconf("SC_CLK_TCK")
    per = 1e6 / args.requests
    return {
        "python_us": round(cpu * per),
        "database_us": round(database * per),
        "wall_us": round(wall * per),
        **({"statements": statements} if args.statements else {}),
    }


def _fixtures(*, backlog: int) -> tuple[str, str]:
    """The bench's site, application and subscription (made once); its queue emptied;
    the down partner's backlog set to `backlog`."""
    from django.db import connection

    from leads.models import Delivery, DeliveryState, Lead, LeadEvent
    from oauth_provider.models import Application
    from subscriptions.models import Subscription
    from subscriptions.services import subscription_put

    from .fixtures import bench_create

    bench_application = Application.objects.filter(client_id=config.CLIENT_ID).first()
    if bench_application is None:
        bench = bench_create()
        site, basic = bench.site, bench.basic
    else:
        # The bench's own site (at the seeded scales, the client is connected to every site).
        site = bench_application.connections.get(site__owner__username="bench").site
        basic = _basic()
    down, _ = Application.objects.get_or_create(
        client_id="down-partner",
        defaults={
            "name": "Down partner",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": "https://down.example.com/callback",
        },
    )
    Subscription.objects.filter(site=site, application=down).delete()
    Delivery.objects.filter(subscription__isnull=True, state=DeliveryState.PENDING).delete()
    Delivery.objects.filter(state=DeliveryState.PENDING).update(state=DeliveryState.CANCELLED)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
    if backlog:
        subscription_put(
            site=site, application=down, url="https://down.example.com/hook", secret="s"
        )
        subscription = Subscription.objects.get(site=site, application=down)
        lead = Lead.objects.create(site=site, source="bench")
        event = LeadEvent.objects.create(lead=lead, action="created", body=b"{}")
        Delivery.objects.bulk_create(
            Delivery(event=event, subscription_id=subscription.pk, lead=lead, action="created")
            for _ in range(backlog)
        )
    _recount()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_delivery")
    return str(site.uuid), basic


def _recount() -> None:
    """The backlog counters, where the checkout has them, set to what is pending."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('leads_deliverybacklog') IS NOT NULL")
        (exists,) = cursor.fetchone()
        if exists:
            cursor.execute("DELETE FROM leads_deliverybacklog")
            cursor.execute(
                "INSERT INTO leads_deliverybacklog (subscription_id, pending) "
                "SELECT subscription_id, count(*) FROM leads_delivery "
                "WHERE state = 'pending' AND subscription_id IS NOT NULL GROUP BY 1"
            )


def _basic() -> str:
    import base64

    pair = f"{config.CLIENT_ID}:{config.CLIENT_SECRET}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _backends(database: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    title = cmdline.read().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.append(int(entry))
    return pids


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


if __name__ == "__main__":
    main()
