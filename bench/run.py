#!/usr/bin/env python3
"""`make bench`: the speed targets of the leads and delivery issue, as ratios and numbers.

1. Commit → receiver latency on loopback (target: p50 < 50 ms, p99 < 500 ms).
2. Deliveries per second of one worker process (target: >= 250/s).
3. Creating a lead through the API vs. a trivial JSON view (/healthz) under the same
   gunicorn configuration (target: >= 50% of its requests/s).

Everything runs on this machine against its own database (`realgeeks_bench`); nothing
here is a test. Needs `wrk` for part 3 (`apt-get install wrk`).
"""

import base64
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/realgeeks_bench"
)
PYTHON = str(ROOT / ".venv" / "bin" / "python")
RECEIVER_PORT = 8771
WEB_PORT = 8772
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-" + "x" * 40

os.environ.update(
    DJANGO_SETTINGS_MODULE="realgeeks.settings",
    REALGEEKS_MODE="local",
    DATABASE_URL=DATABASE_URL,
    LOG_LEVEL="WARNING",
)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from leads.models import Delivery, DeliveryState, Lead  # noqa: E402
from leads.services import lead_create  # noqa: E402
from oauth_provider.models import Application, Connection  # noqa: E402
from sites.models import Site  # noqa: E402
from subscriptions.services import subscription_put  # noqa: E402


class Arrivals:
    """What the receiver got: lead id → arrival times."""

    lock = threading.Lock()
    times: dict[str, float] = {}
    count = 0


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.time()
        lead_id = json.loads(body)["id"]
        with Arrivals.lock:
            Arrivals.times.setdefault(lead_id, now)
            Arrivals.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


# The rate limits stay on, so their cost is measured, but far above what one bench
# client sends.
BENCH_RATE_LIMITS = {
    name: "100000000/m"
    for name in (
        "RATE_LIMIT_TOKEN_PER_CLIENT",
        "RATE_LIMIT_TOKEN_PER_IP",
        "RATE_LIMIT_INCOMING_API_PER_CLIENT",
    )
}


def env_for_children(**extra: str) -> dict[str, str]:
    """As in production: DEBUG off, quiet logs."""
    return {**os.environ, "LOG_LEVEL": "WARNING", "DEBUG": "false", **BENCH_RATE_LIMITS, **extra}


def start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "manage.py", "procrastinate", "worker"],
        cwd=ROOT,
        env=env_for_children(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def reset(site: Site) -> None:
    Lead.objects.filter(site=site).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'leads.tasks.deliver'")
    with Arrivals.lock:
        Arrivals.times.clear()
        Arrivals.count = 0


def wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_latency(site: Site, count: int = 300) -> dict[str, float]:
    reset(site)
    worker = start_worker()
    try:
        time.sleep(3)  # worker start-up is not part of the latency
        committed: dict[str, float] = {}
        for _ in range(count):
            with transaction.atomic():
                lead = lead_create(site=site, fields={"source": "bench", "email": "a@example.com"})
            committed[lead.id.hex] = time.time()
            time.sleep(0.02)  # a steady trickle, not a burst
        wait_until(lambda: len(Arrivals.times) >= count, 60)
    finally:
        stop(worker)
    latencies = [
        (Arrivals.times[key] - committed[key]) * 1000 for key in committed if key in Arrivals.times
    ]
    return {
        "delivered": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
    }


def bench_throughput(site: Site, count: int = 3000) -> dict[str, float]:
    reset(site)
    for start in range(0, count, 500):
        with transaction.atomic():
            for _ in range(min(500, count - start)):
                lead_create(site=site, fields={"source": "bench", "email": "a@example.com"})
    # What autovacuum does within a minute of such a burst (leads migration 0003).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE procrastinate_jobs")
    first_arrival: list[float] = []
    worker = start_worker()
    try:
        wait_until(lambda: Arrivals.count > 0, 30)
        first_arrival.append(time.time())
        wait_until(lambda: Arrivals.count >= count, 300)
        last = time.time()
    finally:
        stop(worker)
    delivered = Delivery.objects.filter(lead__site=site, state=DeliveryState.DELIVERED).count()
    seconds = last - first_arrival[0]
    return {"deliveries": delivered, "seconds": seconds, "per_second": Arrivals.count / seconds}


WRK_POST = """
wrk.method = "POST"
wrk.body = '{"source": "bench", "first_name": "Ann", "email": "ann@example.com"}'
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
wrk.headers["Authorization"] = "%s"
"""


def wrk(url: str, script: str | None, seconds: int = 10) -> float:
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("Requests/sec:"))
    non_2xx = [line for line in output.splitlines() if "Non-2xx" in line]
    if non_2xx:
        raise SystemExit(f"wrk saw errors: {non_2xx[0]}\n{output}")
    return float(line.split()[1])


def bench_api(site: Site) -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the API benchmark: apt-get install wrk")
    reset(site)
    web = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "realgeeks.wsgi",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        # Production settings (DEBUG off), as served for real, minus the https redirect.
        env=env_for_children(
            REALGEEKS_MODE="production",
            SECRET_KEY="bench-only-" + "k" * 50,
            # The keys this process encrypted the bench subscription with.
            SUBSCRIPTION_SECRET_KEYS=",".join(settings.SUBSCRIPTION_SECRET_KEYS),
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
            WEBHOOK_ALLOW_PRIVATE_NETWORKS="true",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{WEB_PORT}"
        wait_until(
            lambda: (
                subprocess.run(["curl", "-sf", f"{base}/healthz"], capture_output=True).returncode
                == 0
            ),
            30,
        )
        basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_POST % basic)
        wrk(f"{base}/healthz", None, seconds=2)  # warm up both
        wrk(f"{base}/rest/sites/{site.uuid}/leads", script.name, seconds=2)
        healthz = wrk(f"{base}/healthz", None)
        create = wrk(f"{base}/rest/sites/{site.uuid}/leads", script.name)
    finally:
        stop(web)
    return {"healthz_rps": healthz, "create_lead_rps": create, "ratio": create / healthz}


def main() -> None:
    call_command("ensuredb")
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    site, _ = Site.objects.get_or_create(domain="bench.example.com", defaults={"owner": owner})
    application = Application.objects.filter(
        client_id=CLIENT_ID
    ).first() or Application.objects.create(
        name="Bench",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://bench.example.com/cb",
    )
    Connection.objects.get_or_create(site=site, application=application)
    subscription_put(
        site=site,
        application=application,
        url=f"http://127.0.0.1:{RECEIVER_PORT}/hook",
        secret="bench-secret",
    )
    server = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    results = {
        "latency": bench_latency(site),
        "throughput": bench_throughput(site),
        "api": bench_api(site),
    }
    server.shutdown()
    print(json.dumps(results, indent=2))
    latency, throughput, api = results["latency"], results["throughput"], results["api"]
    print(
        "\n".join(
            [
                "",
                f"commit → receiver   p50 {latency['p50_ms']:.1f} ms (target < 50), "
                f"p99 {latency['p99_ms']:.1f} ms (target < 500)",
                f"one worker          {throughput['per_second']:.0f} deliveries/s (target >= 250)",
                f"create lead via API {api['create_lead_rps']:.0f} req/s = {api['ratio']:.0%} of "
                f"/healthz {api['healthz_rps']:.0f} req/s (target >= 50%)",
            ]
        )
    )


if __name__ == "__main__":
    main()
