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
    command = [config.PYTHON, "-m", "gunicorn", "realgeeks.wsgi", "--config", "gunicorn.conf.py"]
    return process(
        [*command, "--bind", f"127.0.0.1:{config.WEB_PORT}"],
        log=log_dir / "gunicorn.log",
        ready=lambda: answers(f"{config.WEB_BASE}/healthz"),
        environment=environment,
    )


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
