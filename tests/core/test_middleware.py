"""HEAD answers as a real gunicorn sends them (Django's test client strips HEAD bodies
itself, so it would hide a body the server really writes); the pages' own middleware
skipped on the API paths."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.test import Client

from tests.leads.worker import BASE_DIR, WORKER_ENV


@pytest.fixture(scope="module")
def gunicorn_address(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """One gunicorn worker on a socket we bound to 127.0.0.1, port 0, handed over as fd."""
    listener = socket.create_server(("127.0.0.1", 0))
    log = tmp_path_factory.mktemp("gunicorn") / "web.log"
    env = {**os.environ, **WORKER_ENV, "WEB_WORKERS": "1", "WEB_THREADS": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "realgeeks.wsgi",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"fd://{listener.fileno()}",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
            start_new_session=True,
        )
    address = listener.getsockname()
    try:
        deadline = time.monotonic() + 60
        while b"Booting worker" not in log.read_bytes():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)
        listener.close()


def raw_request(address: tuple[str, int], method: str, path: str) -> tuple[bytes, bytes]:
    """The head and everything after it, as the server wrote them before closing."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    return head, rest


def header(head: bytes, name: str) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.decode("latin-1").partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/healthz", b"200"),  # a success
        ("/piesync/subscription/00000000-0000-0000-0000-000000000000/", b"401"),  # an error
        ("/no-such-path", b"404"),  # Django's own error page
    ],
)
def test_a_head_answer_has_no_body(gunicorn_address, path, status):
    head, body = raw_request(gunicorn_address, "HEAD", path)

    assert head.split(b" ")[1] == status
    assert body == b""


def test_a_head_answer_has_the_get_answers_headers(gunicorn_address):
    """RFC 9110 §9.3.2: the same header fields as GET, Content-Length included."""
    get_head, get_body = raw_request(gunicorn_address, "GET", "/healthz")
    head, _ = raw_request(gunicorn_address, "HEAD", "/healthz")

    assert header(head, "Content-Type") == header(get_head, "Content-Type") == "application/json"
    assert header(head, "Content-Length") == str(len(get_body))


# --- the pages' session, user and messages (core.middleware.PagesOnlyMiddleware) -------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/rest/sites/0f8fad5b-d9cb-469f-a165-70867728950e/leads",
        "/piesync/subscription/0f8fad5b-d9cb-469f-a165-70867728950e/",
        "/piesync/oauth/token/",
    ],
)
def test_an_api_request_gets_no_session_user_or_messages_of_djangos(path):
    """`auser` is the user AuthenticationMiddleware sets; DRF sets `user` itself."""
    request = Client().get(path, HTTP_COOKIE="sessionid=abc").wsgi_request

    assert [hasattr(request, name) for name in ("session", "auser", "_messages")] == [False] * 3


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/account/login/", "/piesync/oauth/authorize/", "/admin/"])
def test_a_page_request_gets_its_session_user_and_messages(path):
    request = Client().get(path).wsgi_request

    assert [hasattr(request, name) for name in ("session", "auser", "_messages")] == [True] * 3
