"""The stack under test: a fresh database, gunicorn, the delivery worker, the receiver."""

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from . import config


def _admin(statement: sql.Composed) -> None:
    admin_url = config.DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(statement)


def drop_database() -> None:
    name = sql.Identifier(config.DATABASE_NAME)
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def fresh_database() -> None:
    """Drop and recreate the bench database: every run starts from nothing."""
    drop_database()
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config.DATABASE_NAME)))


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def answers(url: str) -> bool:
    """Whether `url` answers 200 (as through the https proxy, which production expects)."""
    try:
        return httpx.get(url, headers={"X-Forwarded-Proto": "https"}, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def process(
    command: list[str],
    *,
    log: Path,
    ready: Callable[[], bool] | None = None,
    environment: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` from the project root until the block ends, then stop it with
    SIGTERM (gracefully, as in production). Its output goes to `log`, shown if it does
    not become `ready` within a minute."""
    with log.open("wb") as output:
        child = subprocess.Popen(
            command,
            cwd=config.ROOT,
            stdout=output,
            stderr=output,
            env={**os.environ, **(environment or {})},
        )
    try:
        if ready is not None and not wait_until(ready, 60, interval=0.2):
            raise SystemExit(f"{' '.join(command)} did not start:\n{log.read_text()[-3000:]}")
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=40)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def web(
    log_dir: Path, *, workers: int | None = None, threads: int | None = None
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """gunicorn with gunicorn.conf.py, as in production; `workers`/`threads` override it."""
    environment = {
        **({"WEB_WORKERS": str(workers)} if workers else {}),
        **({"WEB_THREADS": str(threads)} if threads else {}),
    }
    return _gunicorn(
        "gunicorn.conf.py",
        port=config.WEB_PORT,
        log=log_dir / "gunicorn.log",
        environment=environment,
    )


def stub_web(log_dir: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """A second gunicorn, the same but refusing webhook URLs on private networks, as
    production does, and resolving `config.PUBLIC_HOOK_HOST` through a stub in each
    worker (bench/gunicorn_dns_stub.py)."""
    return _gunicorn(
        "bench/gunicorn_dns_stub.py",
        port=config.STUB_WEB_PORT,
        log=log_dir / "gunicorn-dns-stub.log",
        environment={"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "false"},
    )


def _gunicorn(
    config_file: str, *, port: int, log: Path, environment: dict[str, str]
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    command = [config.PYTHON, "-m", "gunicorn", "realgeeks.wsgi", "--config", config_file]
    return process(
        [*command, "--bind", f"127.0.0.1:{port}"],
        log=log,
        ready=lambda: answers(f"http://127.0.0.1:{port}/healthz"),
        environment=environment,
    )


# States in /proc/net/tcp (include/net/tcp_states.h) of a connection the server has not
# closed yet: queued or accepted, its request not yet answered (each request comes on its
# own connection, which the server closes once it has answered).
UNANSWERED_STATES = {"01", "03", "08"}  # ESTABLISHED, SYN_RECV, CLOSE_WAIT


def unanswered(port: int) -> int:
    """Connections to our server on `port` (IPv4) that it has not closed yet."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(
        1
        for row in rows
        if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] in UNANSWERED_STATES
    )


def drain(port: int) -> None:
    """Wait until the server on `port` has answered every request sent to it: the load
    generator stops at its deadline, and requests it sent by then may still be running."""
    if not wait_until(lambda: unanswered(port) == 0, 60, interval=0.05):
        raise SystemExit(f"The server on port {port} still has requests in flight after 60 s.")


def worker(
    log_dir: Path, *, ready: Callable[[], bool]
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """One delivery worker process, as in production."""
    return process(
        [config.PYTHON, "manage.py", "procrastinate", "worker"],
        log=log_dir / "worker.log",
        ready=ready,
    )


def receiver(log_dir: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return process(
        [config.PYTHON, "-m", "bench.receiver", str(config.RECEIVER_PORT)],
        log=log_dir / "receiver.log",
        ready=lambda: answers(f"http://127.0.0.1:{config.RECEIVER_PORT}/stats"),
    )
