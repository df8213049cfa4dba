"""The shipped nginx config in front of a real gunicorn: slow clients, malformed
requests, the client's address, TLS."""

import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection

from ratelimits.models import RateLimitWindow
from subscriptions.services import subscription_put
from tests.deploy.proxy import SERVER_NAME, Proxy, gunicorn, nginx
from tests.factories import issue_access_token
from tests.leads.worker import database_url, wait_until


@pytest.fixture(scope="module")
def proxy(django_db_setup, tmp_path_factory) -> Iterator[Proxy]:
    directory: Path = tmp_path_factory.mktemp("nginx")
    with (
        gunicorn(directory, database_url=database_url(connection.settings_dict)) as port,
        nginx(directory, upstream=f"127.0.0.1:{port}") as running,
    ):
        with running.client() as client:
            wait_until(lambda: _answers(client), timeout=60, message="gunicorn behind nginx")
        yield running


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


TRICKLERS = 50
TRICKLE_SECONDS = 4.0
PROBE_DEADLINE = 1.0


@pytest.fixture
def subscribed(site, application):
    """A subscription and a token that reads it: (path, token)."""
    subscription_put(
        site=site, application=application, url="https://partner.example/hook", secret="s3cret"
    )
    token = issue_access_token(site=site, application=application)
    return f"/piesync/subscription/{site.uuid}/", token


class Trickler:
    """A partner that sends a subscription PUT's headers (`Content-Length: 100`), then its
    body one byte at a time. Straight to gunicorn, each would hold a thread until the last
    byte: the view reads the body."""

    BODY = json.dumps({"url": "https://partner.example/hook", "secret": "x" * 47}).encode()

    def __init__(
        self, proxy: Proxy, path: str, token: str, *, local_address: str = "127.0.0.1"
    ) -> None:
        assert len(self.BODY) == 100
        self.connection = proxy.connect(local_address=local_address)
        self.sent = 0
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {SERVER_NAME}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        self.connection.sendall(head.encode())
        self.send_byte()

    def send_byte(self) -> None:
        self.connection.sendall(self.BODY[self.sent : self.sent + 1])
        self.sent += 1

    def answered(self) -> bool:
        """Whether nginx has answered or closed (a TLS 1.3 session ticket is not an answer)."""
        self.connection.setblocking(False)
        try:
            self.connection.recv(1)
        except ssl.SSLWantReadError:
            return False
        finally:
            self.connection.setblocking(True)
        return True


@pytest.mark.django_db(transaction=True)
def test_health_and_a_subscription_get_answer_within_a_second_while_50_clients_trickle(
    proxy, subscribed
):
    path, token = subscribed
    tricklers = [Trickler(proxy, path, token) for _ in range(TRICKLERS)]
    slowest: dict[str, float] = {}
    try:
        started = time.monotonic()
        while time.monotonic() - started < TRICKLE_SECONDS:
            for probe, headers in (("/healthz", {}), (path, {"Authorization": f"Bearer {token}"})):
                with proxy.client() as client:  # a new connection each time
                    sent = time.monotonic()
                    response = client.get(probe, headers=headers, timeout=PROBE_DEADLINE * 5)
                    took = time.monotonic() - sent
                assert response.status_code == 200, response.text
                slowest[probe] = max(slowest.get(probe, 0.0), took)
            for trickler in tricklers:
                trickler.send_byte()
            time.sleep(0.1)
        assert not any(trickler.answered() for trickler in tricklers)  # all still sending
    finally:
        for trickler in tricklers:
            trickler.connection.close()

    assert all(took < PROBE_DEADLINE for took in slowest.values()), slowest


API_PATH = "/piesync/subscription/5f0c6a3e-0000-4000-8000-000000000000/"

CONNECTIONS_PER_ADDRESS = 100  # limit_conn in deploy/nginx.conf.template


@pytest.mark.django_db(transaction=True)
def test_one_address_holding_its_most_requests_in_progress_gets_429_others_are_served(
    proxy, subscribed
):
    path, token = subscribed
    tricklers = [
        Trickler(proxy, path, token, local_address="127.0.0.3")
        for _ in range(CONNECTIONS_PER_ADDRESS)
    ]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with proxy.client(local_address="127.0.0.3") as client:
            refused = client.get(path, headers=headers)
        with proxy.client() as client:
            served = client.get(path, headers=headers)
    finally:
        for trickler in tricklers:
            trickler.connection.close()

    assert refused.status_code == 429
    assert refused.json() == {"error": "Too Many Requests"}
    assert served.status_code == 200


def request(head: str, *headers: str, body: str = "") -> bytes:
    """A raw request to the public site: `head` (a request line), `headers`, `body`."""
    lines = [head, f"Host: {SERVER_NAME}", *headers, "Connection: close", "", body]
    return "\r\n".join(lines).encode("latin-1")


# Requests gunicorn refuses with its own HTML page (400, 431 or 501) when they reach it,
# and the largest nginx lets through.
MALFORMED = {
    "NUL in Authorization": request(f"GET {API_PATH} HTTP/1.1", "Authorization: Bearer a\0b"),
    "Content-Length -1": request(f"PUT {API_PATH} HTTP/1.1", "Content-Length: -1"),
    "Content-Length not a number": request(f"PUT {API_PATH} HTTP/1.1", "Content-Length: 1e2"),
    "two Content-Lengths": request(
        f"PUT {API_PATH} HTTP/1.1", "Content-Length: 2", "Content-Length: 3", body="{}"
    ),
    "Content-Length and chunked": request(
        f"PUT {API_PATH} HTTP/1.1",
        "Content-Length: 2",
        "Transfer-Encoding: chunked",
        body="2\r\n{}\r\n0\r\n\r\n",
    ),
    "gzip transfer coding": request(f"PUT {API_PATH} HTTP/1.1", "Transfer-Encoding: gzip"),
    "chunked in HTTP/1.0": request(
        f"PUT {API_PATH} HTTP/1.0", "Transfer-Encoding: chunked", body="2\r\n{}\r\n0\r\n\r\n"
    ),
    "folded header": request(f"GET {API_PATH} HTTP/1.1", "X-Note: a", " folded"),
    "control character in a value": request(f"GET {API_PATH} HTTP/1.1", "X-Note: a\x01b"),
    "invalid header name": request(f"GET {API_PATH} HTTP/1.1", "X(Note): a"),
    "underscore in a header name": request(f"GET {API_PATH} HTTP/1.1", "X_Forwarded_For: 1.2.3.4"),
    "header line too long": request(f"GET {API_PATH} HTTP/1.1", "X-Note: " + "a" * 9000),
    "150 headers": request(f"GET {API_PATH} HTTP/1.1", *(f"X-Note-{n}: a" for n in range(150))),
    "request line too long": request(f"GET {API_PATH}?q={'a' * 9000} HTTP/1.1"),
    # The longest request line and header line nginx lets through (a 4 KiB buffer with
    # the CRLF), X-Forwarded-For growing by the address nginx appends.
    "longest request line": request(f"GET {API_PATH}?q={'a' * 4019} HTTP/1.1"),
    "longest X-Forwarded-For": request(
        f"GET {API_PATH} HTTP/1.1", "X-Forwarded-For: " + "1" * 4077
    ),
    "method too long": request(f"ABCDEFGHIJKLMNOPQRSTU {API_PATH} HTTP/1.1"),
    "method too short": request(f"AB {API_PATH} HTTP/1.1"),
    "lower-case method": request(f"get {API_PATH} HTTP/1.1"),
    "HTTP/1.2": request(f"GET {API_PATH} HTTP/1.2"),
    "HTTP/2.0 on HTTP/1": request(f"GET {API_PATH} HTTP/2.0"),
    "contradicting X-Forwarded-Ssl": request(f"GET {API_PATH} HTTP/1.1", "X-Forwarded-Ssl: off"),
    "body over the limit": request(f"PUT {API_PATH} HTTP/1.1", "Content-Length: 2000000"),
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_or_oversized_request_on_an_api_path_gets_a_json_error(proxy, raw):
    response = proxy.exchange(raw)

    assert response.status >= 400
    assert response.content_type == "application/json"
    assert isinstance(json.loads(response.body)["error"], str)


@pytest.mark.parametrize(
    "header", ["Authorization: Bearer a\0b", "Content-Length: -1"], ids=["NUL", "negative"]
)
def test_nginx_refuses_a_malformed_header_in_the_api_error_format(proxy, header):
    response = proxy.exchange(request(f"PUT {API_PATH} HTTP/1.1", header))

    assert response.status == 400
    assert json.loads(response.body) == {"error": "Bad Request"}


@pytest.mark.parametrize("path", ["/account/login/", "/piesync/oauth/authorize/"])
def test_nginx_refuses_a_malformed_header_on_a_page_in_html(proxy, path):
    response = proxy.exchange(request(f"GET {path} HTTP/1.1", "Cookie: a\0b"))

    assert response.status == 400
    assert response.content_type == "text/html"
    assert b"<h1>400 Bad Request</h1>" in response.body


def test_a_body_that_stops_coming_is_cut_off_after_the_body_timeout(proxy):
    timeout = int(re.findall(r"client_body_timeout (\d+)s;", proxy.config())[0])
    with proxy.connect() as connection:
        connection.settimeout(timeout * 2)
        connection.sendall(request(f"PUT {API_PATH} HTTP/1.1", "Content-Length: 100") + b"{")
        started = time.monotonic()

        assert connection.recv(1) == b""  # closed, without an answer (nginx sends no 408)
        assert timeout - 1 < time.monotonic() - started < timeout * 2


@pytest.mark.django_db(transaction=True)
def test_the_rate_limits_see_the_client_address_not_the_proxy_or_a_forged_one(proxy):
    with proxy.client(local_address="127.0.0.2") as client:
        response = client.post(
            "/piesync/oauth/token/",
            data={"grant_type": "authorization_code", "code": "unknown"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )

    assert response.json()["error"] == "invalid_client"  # counted, then refused
    keys = RateLimitWindow.objects.values_list("key", flat=True)
    assert {key.rsplit("/", 1)[0] for key in keys} == {  # then /<window>
        "token:ip:127.0.0.2",
        "client-auth-failures:ip:127.0.0.2",
    }


def test_plain_http_is_redirected_to_https_on_the_server_name(proxy):
    response = httpx.get(
        f"http://127.0.0.1:{proxy.http_port}{API_PATH}?a=1", headers={"Host": "evil.example"}
    )

    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{SERVER_NAME}{API_PATH}?a=1"


@pytest.fixture(scope="module")
def proxy_to_nothing(tmp_path_factory) -> Iterator[Proxy]:
    """nginx in front of an address where nothing listens."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        upstream = f"127.0.0.1:{closed.getsockname()[1]}"
        with nginx(tmp_path_factory.mktemp("nginx-no-upstream"), upstream=upstream) as running:
            yield running


def test_a_gateway_error_on_an_api_path_is_json(proxy_to_nothing):
    with proxy_to_nothing.client() as client:
        response = client.get(API_PATH)

    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "Bad Gateway"}


def test_a_gateway_error_on_a_page_is_html(proxy_to_nothing):
    with proxy_to_nothing.client() as client:
        response = client.get("/account/login/")

    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert "<h1>502 Bad Gateway</h1>" in response.text
