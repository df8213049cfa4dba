"""What `make bench` runs against, read from the environment (no Django here: the
environment below must be in place before Django's settings are loaded)."""

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/realgeeks_bench"
)
DATABASE_NAME = DATABASE_URL.rsplit("/", 1)[1].split("?")[0]


def _free_port() -> int:
    """A port nobody listens on now (others on this machine run servers too)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


RECEIVER_PORT = int(os.environ.get("BENCH_RECEIVER_PORT") or _free_port())
WEB_PORT = int(os.environ.get("BENCH_WEB_PORT") or _free_port())
WEB_BASE = f"http://127.0.0.1:{WEB_PORT}"
RECEIVER_URL = f"http://127.0.0.1:{RECEIVER_PORT}/hook"
# The second gunicorn, which refuses private networks and resolves PUBLIC_HOOK_HOST
# through a stub (bench/gunicorn_dns_stub.py): the "subscription PUT, public URL" row.
STUB_WEB_PORT = int(os.environ.get("BENCH_STUB_WEB_PORT") or _free_port())
STUB_WEB_BASE = f"http://127.0.0.1:{STUB_WEB_PORT}"
# A name under .example (RFC 2606), which real DNS never resolves: outside that
# gunicorn's workers, nothing can ever reach the stub's address through it.
PUBLIC_HOOK_HOST = "hooks.piesync-bench.example"
PUBLIC_HOOK_ADDRESS = "93.184.215.14"  # public, and never connected to
PUBLIC_HOOK_URL = f"https://{PUBLIC_HOOK_HOST}/realgeeks"
RESULTS = ROOT / "bench" / "results.md"
TUNING_RESULTS = ROOT / "bench" / "tuning.md"

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret-" + "x" * 40
REDIRECT_URI = "https://bench.example.com/callback"
SUBSCRIPTION_SECRET = "bench-subscription-secret"

# Data scales: name → (sites, leads). `small` is the fresh database with the bench's
# own site only.
SCALES: dict[str, tuple[int, int]] = {
    "small": (0, 0),
    "1k": (1_000, 10_000),
    "100k": (100_000, 1_000_000),
}


@dataclass(frozen=True)
class Options:
    scales: list[str]
    seconds: int  # each wrk measurement
    rounds: int  # measurements of each endpoint; the fastest counts
    warmup_seconds: int
    connections: int
    wrk_threads: int
    deliveries: int  # pre-queued for the throughput run, and POSTed for the raw rate
    latency_leads: int  # created one at a time for commit → receipt
    # py-spy on gunicorn's workers, per endpoint short of its target (0: no profile)
    profile_seconds: int = 8


def options() -> Options:
    scales = [s.strip() for s in os.environ.get("BENCH_SCALES", ",".join(SCALES)).split(",")]
    unknown = [s for s in scales if s not in SCALES]
    if unknown or not scales:
        raise SystemExit(f"BENCH_SCALES: unknown {unknown}; choose among {', '.join(SCALES)}")
    return Options(
        scales=[s for s in SCALES if s in scales],
        seconds=int(os.environ.get("BENCH_SECONDS", "5")),
        rounds=int(os.environ.get("BENCH_ROUNDS", "3")),
        warmup_seconds=int(os.environ.get("BENCH_WARMUP_SECONDS", "2")),
        connections=int(os.environ.get("BENCH_CONNECTIONS", "32")),
        wrk_threads=int(os.environ.get("BENCH_WRK_THREADS", "1")),
        deliveries=int(os.environ.get("BENCH_DELIVERIES", "3000")),
        latency_leads=int(os.environ.get("BENCH_LATENCY_LEADS", "300")),
        profile_seconds=int(os.environ.get("BENCH_PROFILE_SECONDS", "8")),
    )


def production_environment(metrics_directory: str) -> dict[str, str]:
    """Production settings (DEBUG off, JSON logs, security middleware, metrics, rate
    limits), as served behind a TLS-terminating proxy: the load generator sends
    `X-Forwarded-Proto: https` and `X-Forwarded-For`.

    Webhook URLs on loopback are allowed, since the receiver is on 127.0.0.1. The rate
    limits stay on, so that their cost is measured, but far above what the bench sends.
    """
    return {
        "DJANGO_SETTINGS_MODULE": "realgeeks.settings",
        "REALGEEKS_MODE": "production",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "SUBSCRIPTION_SECRET_KEYS": Fernet.generate_key().decode(),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "PROMETHEUS_MULTIPROC_DIR": metrics_directory,
        "RATE_LIMIT_TOKEN_PER_CLIENT": "100000000/m",
        "RATE_LIMIT_TOKEN_PER_IP": "100000000/m",
        "RATE_LIMIT_INCOMING_API_PER_CLIENT": "100000000/m",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
