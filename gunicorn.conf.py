"""gunicorn settings; command-line flags (such as --bind) override these."""

import os
from typing import Any

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
# Sized for 2-core machines by `python -m bench --tune` (bench/tuning.md): 3 processes
# of 4 threads saturate both cores (with PostgreSQL on the same machine) on /healthz and
# on lead create, each within 7% of the best shape measured. Two processes leave CPU idle
# while their threads wait on the database (lead create: 128-195 req/s against 256);
# more processes add memory and connections for nothing.
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A worker that stops heartbeating this long (stuck, not merely busy: gthread's main
# loop heartbeats while requests run in threads) is killed and replaced.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# On SIGTERM: stop accepting, finish requests in flight for up to this long, under the
# 30 s most orchestrators wait before SIGKILL.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "20"))
# Idle keep-alive connections from the proxy (parked in the poller, holding no thread)
# outlive its own idle timeout (60 s on nginx and AWS ALB), so that the proxy is the one
# to close them: else a request it sends just as gunicorn closes gets a 502.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
# One line per request: time, client, method and path (not the query string, which a
# careless client could fill with credentials), status, bytes, milliseconds, request id.
accesslog = "-"
access_log_format = '%(t)s %(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


def child_exit(server: Any, worker: Any) -> None:
    """Prometheus multiprocess mode: drop a dead worker's live gauges (its counters and
    histograms stay, still summed into every scrape)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
