"""Test machinery for webhook delivery: a real HTTP receiver and real worker processes.

`Receiver` is a threaded HTTP server on 127.0.0.1 that records every request (method,
path, headers, exact body bytes, arrival order and time) and answers from a script per
path: status codes, delays, extra headers such as Retry-After, or a hold until the test
releases it.

`Workers` starts `manage.py procrastinate worker` subprocesses against the test
database, and stops (or SIGKILLs) them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from cryptography.fernet import Fernet
from django.db.models import QuerySet
from procrastinate.contrib.django.utils import connector_params
from psycopg_pool import AsyncConnectionPool

from leads.delivery.attempt import deliver_once
from leads.models import Delivery
from leads.worker_app import worker_pool
from subscriptions.conf import app_settings
from subscriptions.models import Subscription

# Generous: other test runs share the machine.
DEFAULT_TIMEOUT = 30.0
HOLD_LIMIT = 60.0


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    message: str = "condition",
) -> Any:
    """Poll `predicate` until it returns something truthy; return it, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


# ---------------------------------------------------------------------------
# One attempt in-process, as the worker makes it


def with_worker_pool(attempt: Callable[[AsyncConnectionPool], Awaitable[None]]) -> None:
    """Run `attempt` on an event loop and a pool like the worker's."""

    async def run() -> None:
        async with worker_pool(kwargs=connector_params(), min_size=1, open=False) as pool:
            await attempt(pool)

    asyncio.run(run())


def deliver_now(delivery: Delivery) -> None:
    """One attempt, as the worker makes it."""
    with_worker_pool(lambda pool: deliver_once(str(delivery.id), database=pool))


def corrupt_secret(subscriptions: QuerySet[Subscription]) -> None:
    """A stored secret that decrypts to bytes that are not UTF-8: decrypting it raises
    UnicodeDecodeError, an error nothing in the send path expects."""
    key = Fernet(app_settings.SUBSCRIPTION_SECRET_KEYS[0])
    subscriptions.update(secret_encrypted=key.encrypt(b"\xff\xfe").decode())


# ---------------------------------------------------------------------------
# The receiver


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hold: threading.Event | None = None  # answer only once the test sets it


@dataclass
class Received:
    seq: int  # arrival order across all paths, from 0
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival
    status: int | None = None  # what we answered


Responder = Callable[[Received], Reply]


class Receiver:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._requests: list[Received] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._responders: dict[str, Responder] = {}
        self._holds: list[threading.Event] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{quote(path)}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with these replies, then 200."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)
            self._holds.extend(reply.hold for reply in replies if reply.hold is not None)

    def respond_with(self, path: str, responder: Responder) -> None:
        """Decide each answer to `path` with a function (used once the script is empty)."""
        with self._lock:
            self._responders[path] = responder

    def hold(self) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._holds.append(event)
        return event

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def answered(self, path: str | None = None) -> list[Received]:
        """Requests that have been fully answered (their status is known)."""
        return [r for r in self.requests(path) if r.status is not None]

    def wait_for(
        self, count: int, path: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Received]:
        return wait_until(
            lambda: (lambda found: found if len(found) >= count else None)(self.requests(path)),
            timeout=timeout,
            message=f"{count} request(s) to {path or 'the receiver'} "
            f"(got {len(self.requests(path))})",
        )

    def close(self) -> None:
        with self._lock:
            for event in self._holds:
                event.set()
        self.server.shutdown()
        self.server.server_close()

    # -- server side

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[Received, Reply]:
        path = handler.path
        with self._lock:
            received = Received(
                seq=len(self._requests),
                method=handler.command,
                path=path,
                headers={name.lower(): value for name, value in handler.headers.items()},
                body=body,
                at=time.monotonic(),
            )
            self._requests.append(received)
            self._lock.notify_all()
            script = self._scripts.get(path)
            if script:
                reply = script.popleft()
            elif path in self._responders:
                reply = self._responders[path](received)
            else:
                reply = Reply()
            if reply.hold is not None and reply.hold not in self._holds:
                self._holds.append(reply.hold)
        return received, reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received, reply = receiver._record(self, body)
                if reply.hold is not None:
                    reply.hold.wait(HOLD_LIMIT)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:
                    pass  # the sender went away (killed, or timed out)
                finally:
                    received.status = reply.status

            do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# ---------------------------------------------------------------------------
# Worker processes


BASE_DIR = Path(__file__).resolve().parents[2]


def database_url(settings_dict: dict[str, Any]) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


def conninfo(settings_dict: dict[str, Any]) -> str:
    return psycopg.conninfo.make_conninfo(
        dbname=settings_dict["NAME"],
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or "127.0.0.1",
        port=str(settings_dict.get("PORT") or 5432),
    )


# The worker's environment for every test: a short retry schedule and a short poll.
WORKER_ENV = {
    "REALGEEKS_MODE": "local",
    "DELIVERY_RETRY_SCHEDULE": "1,1,1",
    "WORKER_POLLING_INTERVAL": "0.2",
    "LOG_LEVEL": "INFO",
    "PYTHONUNBUFFERED": "1",
}


# Recovery within seconds rather than minutes: heartbeats every second, a worker silent
# for 5 s counts as dead, and the recovery tasks run every 2 s.
FAST_RECOVERY = {
    "WORKER_HEARTBEAT_INTERVAL": "1",
    "DELIVERY_STALLED_AFTER_SECONDS": "5",
    "DELIVERY_RECOVERY_CRON": "* * * * * */2",
}


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, jobs left in `doing`."""
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class Workers:
    """Starts `manage.py procrastinate worker` processes; `stop_all` ends every one."""

    def __init__(self, settings_dict: dict[str, Any], log_dir: Path) -> None:
        self.database_url = database_url(settings_dict)
        self.conninfo = conninfo(settings_dict)
        self.log_dir = log_dir
        self.started: list[WorkerProcess] = []
        self.default: WorkerProcess | None = None  # kept running by the `worker` fixture

    def _last_worker_id(self) -> int:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT coalesce(max(id), 0) FROM procrastinate_workers").fetchone()
        return int(row[0]) if row else 0

    def start(self, **env: str) -> WorkerProcess:
        before = self._last_worker_id()
        log_path = self.log_dir / f"worker-{len(self.started)}.log"
        environment = {
            **os.environ,
            **WORKER_ENV,
            "DATABASE_URL": self.database_url,
            **env,
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "procrastinate", "worker"],
                cwd=BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(process, log_path)
        self.started.append(worker)

        def registered() -> bool:
            if not worker.alive():
                raise AssertionError(f"The worker exited at start:\n{worker.log()[-3000:]}")
            return self._last_worker_id() > before

        wait_until(registered, timeout=60, interval=0.1, message="the worker to register")
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            try:
                worker.stop()
            except Exception:
                worker.kill()
        self.started = [w for w in self.started if w.alive()]

    def clear_queue(self) -> None:
        """Forget procrastinate's rows (jobs, periodic defers, workers): pytest-django's
        flush leaves these unmanaged tables alone. Only while no worker runs."""
        assert not any(worker.alive() for worker in self.started)
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(
                "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, "
                "procrastinate_workers CASCADE"
            )
