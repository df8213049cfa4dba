"""Fixtures for delivery tests: a real receiver on 127.0.0.1 and real worker processes."""

from collections.abc import Iterator

import pytest

from tests.leads.worker import Receiver, WorkerProcess, Workers


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def workers(django_db_setup, tmp_path_factory):
    """Worker processes on the test database (pytest-django's `test_<name>`), ended with
    the module. `workers.default` is the one the `worker` fixture keeps running."""
    from django.db import connection

    manager = Workers(connection.settings_dict, tmp_path_factory.mktemp("workers"))
    manager.clear_queue()
    yield manager
    manager.stop_all()
    manager.clear_queue()


def print_logs_if_failed(request, workers: Workers, since: int = 0) -> None:
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for process in workers.started[since:]:
            print(f"--- worker {process.pid} log (tail) ---\n{process.log()[-6000:]}")


@pytest.fixture
def worker(request, transactional_db, workers) -> Iterator[WorkerProcess]:
    """A running worker with the default test environment (retry schedule 1,1,1 s).

    Data must be committed for it to see it, hence `transactional_db`.
    """
    if workers.default is None or not workers.default.alive():
        workers.default = workers.start()
    yield workers.default
    print_logs_if_failed(request, workers)


@pytest.fixture
def own_workers(request, transactional_db, workers) -> Iterator[Workers]:
    """For tests that start their own workers: the shared one is stopped first (so it
    takes none of their jobs), and theirs are ended after."""
    if workers.default is not None:
        workers.default.stop()
        workers.default = None
    since = len(workers.started)
    yield workers
    print_logs_if_failed(request, workers, since)
    for process in workers.started[since:]:
        process.kill()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
