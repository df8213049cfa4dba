"""gunicorn settings; command-line flags (such as --bind) override these."""

import os
from typing import Any

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20
accesslog = "-"


def child_exit(server: Any, worker: Any) -> None:
    """Prometheus multiprocess mode: drop a dead worker's live gauges (its counters and
    histograms stay, still summed into every scrape)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
