"""gunicorn settings; command-line flags (such as --bind) override these."""

import os
from typing import Any

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
# Sized for 2-core machines by `python -m bench --tune` (its figures: bench/tuning.md):
# 2 processes of 4 threads gave the best lead-create rate, a /healthz rate level with
# the best, and the least CPU per request. One process is held to one core by the GIL;
# each process beyond two costs CPU in switching; 4 threads cover a request's database
# round trips, and 8 only contend for the GIL.
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
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
# Production runs behind nginx (deploy/nginx.conf.template), which refuses oversized and
# malformed requests itself, answering API paths in JSON. gunicorn's own limits sit above
# nginx's (its request line and each header line: one large header buffer; the header:
# all of them), so that gunicorn's HTML 400/431 pages never reach a client: the request
# line and the number of header lines at gunicorn's maximum, a header line at its default.
limit_request_line = 8190
limit_request_fields = 32768
limit_request_field_size = 8190
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
