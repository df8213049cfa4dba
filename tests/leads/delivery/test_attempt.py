"""One delivery attempt in-process (`leads.delivery.attempt.deliver_once`), against a real
HTTP receiver on 127.0.0.1: the address guard, timeouts and connection errors, and what
each answer leaves. The retry arithmetic is in test_retry.py, the worker-driven behaviour
in tests/leads/test_delivery_worker.py."""

import contextlib
import hashlib
import hmac
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import call_command
from psycopg_pool import AsyncConnectionPool

from leads.delivery.attempt import deliver_once
from leads.delivery.retry import PartnerBusy, RetryDelivery
from leads.delivery.slots import partner_slot
from leads.models import Delivery, DeliveryState
from leads.services import lead_create
from subscriptions.models import Subscription
from subscriptions.services import subscription_put
from tests.conftest import FakeDNS
from tests.factories import ApplicationFactory
from tests.leads.worker import Reply, corrupt_secret, deliver_now, with_worker_pool

# deliver_once works on connections of its own, as in the worker: data is committed.
pytestmark = pytest.mark.usefixtures("fast_password_hashing", "transactional_db")

SECRET = "partner-signing-secret"


def pending_delivery(site, application, url: str) -> Delivery:
    subscription_put(site=site, application=application, url=url, secret=SECRET)
    lead = lead_create(site=site, fields={"source": "Website", "first_name": "Jack"})
    return Delivery.objects.get(lead=lead)


# ---------------------------------------------------------------------------
# the private-address guard


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_outside_local_mode_a_private_address_is_refused_at_send_time(
    receiver, site, application, knobs, host
):
    # Stored while private networks were allowed (or the host resolved elsewhere then).
    delivery = pending_delivery(site, application, f"http://{host}:{receiver.port}/hook")
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error.startswith("Refused")
    assert "public internet address" in delivery.last_error
    assert delivery.last_status_code is None
    assert delivery.finished is not None
    assert receiver.requests() == []


def test_the_guard_is_what_refused_it(receiver, site, application, knobs):
    """The same delivery outside local mode, with private networks allowed, goes out."""
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.DELIVERED, 200)
    [request] = receiver.requests("/hook")
    assert request.headers["x-lead-router-signature"] == (
        hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    )


def test_a_host_that_does_not_resolve_at_send_time_is_retried(site, application, knobs, dns):
    """A DNS failure passes like a connection error; PUT made sure the name resolved."""
    delivery = pending_delivery(site, application, "http://hooks.partner.test/hook")
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    with pytest.raises(RetryDelivery):
        deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert delivery.last_error == "Connection error: The URL's host name does not resolve."
    assert delivery.next_attempt_at is not None


def test_the_connection_goes_to_the_checked_address_with_the_partner_host_name(
    receiver, site, application, knobs, dns
):
    """The name is resolved and checked once, and the request is sent to that address
    (no second lookup a DNS rebinding could answer differently), with the partner's
    Host header. DNS is the only thing stubbed: "partner.example" checks out as the
    receiver's address."""
    dns["partner.example"] = ["127.0.0.1"]
    delivery = pending_delivery(site, application, f"http://partner.example:{receiver.port}/hook")
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the address check passes 127.0.0.1

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert dns.asked == [("partner.example", receiver.port)]
    [request] = receiver.requests("/hook")
    assert request.headers["host"] == f"partner.example:{receiver.port}"


class ChangingDNS(FakeDNS):
    """A DNS rebinding: the first answer for a name, then another one for every later
    lookup."""

    def __init__(self, first: list[str], later: list[str]) -> None:
        super().__init__()
        self.first, self.later = first, later

    def lookup(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.first if len(self.asked) == 1 else self.later


def test_the_connection_goes_to_the_address_checked_even_if_dns_answers_differently_later(
    receiver, site, application, knobs, monkeypatch
):
    """Later lookups point at 127.0.0.2, where nothing listens: the request reaches the
    receiver only if the connection goes to the address the check saw, not to the name
    resolved again."""
    changing = ChangingDNS(first=["127.0.0.1"], later=["127.0.0.2"])
    delivery = pending_delivery(site, application, f"http://partner.example:{receiver.port}/hook")
    monkeypatch.setattr("subscriptions.url_policy.lookup", changing.lookup)
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the address check passes 127.0.0.1

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.DELIVERED, 200)
    assert len(receiver.requests("/hook")) == 1


# ---------------------------------------------------------------------------
# https partners sharing an address (a CDN): no connection reused across host names


def certificate_authority(tmp_path, name: str) -> tuple[Path, Path, Path]:
    """Throwaway PEM files: a CA, and a key and a certificate it signed for `name` only."""
    now = datetime.now(UTC)

    def issue(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = issue("Test CA", ca_key, "Test CA", ca_key, ca=True)
    cert = issue(name, key, "Test CA", ca_key, ca=False)
    paths = tmp_path / "ca.pem", tmp_path / "key.pem", tmp_path / "cert.pem"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return paths


class TLSReceiver:
    """An https receiver on 127.0.0.1 that keeps connections open (HTTP/1.1), so that a
    client may reuse them, and records the server name (SNI) of each TLS handshake and
    the Host of each request."""

    def __init__(self, *, key: Path, cert: Path) -> None:
        self.server_names: list[str | None] = []
        self.hosts: list[str] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """A receiver with a certificate for a.example only, from a CA the client trusts
    (httpx reads SSL_CERT_FILE when it makes its TLS context)."""
    ca, key, cert = certificate_authority(tmp_path, "a.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    server = TLSReceiver(key=key, cert=cert)
    yield server
    server.close()


def deliveries_to(site, urls: list[str]) -> list[Delivery]:
    """One lead, delivered to one subscription per URL (a partner application each), in
    the order of `urls`."""
    for url in urls:
        subscription_put(site=site, application=ApplicationFactory.create(), url=url, secret=SECRET)
    lead = lead_create(site=site, fields={"source": "Website", "first_name": "Jack"})
    return list(Delivery.objects.filter(lead=lead).order_by("subscription_id"))


def deliver_in_turn(deliveries: list[Delivery]) -> None:
    """One attempt each, one after the other on one event loop, as a worker sends them:
    with one HTTP client, whose connections may be reused."""

    async def attempts(pool) -> None:
        for delivery in deliveries:
            with contextlib.suppress(RetryDelivery):
                await deliver_once(str(delivery.id), database=pool)

    with_worker_pool(attempts)


@pytest.fixture
def shared_address(dns, knobs):
    """Two partner names at the same address, checked as outside local mode."""
    dns["a.example"] = dns["b.example"] = ["127.0.0.1"]
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the address check passes 127.0.0.1
    return dns


def test_a_connection_made_for_one_host_name_is_not_reused_for_another_at_the_same_address(
    tls_receiver, site, shared_address
):
    """b.example shares a.example's address but not its certificate: its request gets a
    TLS connection of its own, named b.example, and fails verification, unsent."""
    port = tls_receiver.port
    first, second = deliveries_to(
        site, [f"https://a.example:{port}/a", f"https://b.example:{port}/b"]
    )

    deliver_in_turn([first, second])

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.last_status_code) == (DeliveryState.DELIVERED, 200)
    assert (second.state, second.last_status_code) == (DeliveryState.PENDING, None)
    assert "CERTIFICATE_VERIFY_FAILED" in second.last_error
    assert tls_receiver.server_names == ["a.example", "b.example"]
    assert tls_receiver.hosts == [f"a.example:{port}"]


def test_requests_to_one_host_name_reuse_its_connection_and_its_lookup(
    tls_receiver, site, shared_address
):
    """Two partners on one host: one lookup, one TLS handshake, both delivered."""
    port = tls_receiver.port
    deliveries = deliveries_to(site, [f"https://a.example:{port}/1", f"https://a.example:{port}/2"])

    deliver_in_turn(deliveries)

    assert [Delivery.objects.get(pk=delivery.pk).state for delivery in deliveries] == [
        DeliveryState.DELIVERED
    ] * 2
    assert shared_address.asked == [("a.example", port)]
    assert tls_receiver.server_names == ["a.example"]
    assert tls_receiver.hosts == [f"a.example:{port}"] * 2


# ---------------------------------------------------------------------------
# the host: international names, and the URL rules again at send time


@pytest.mark.parametrize("host", ["bücher.test", "BÜCHER.test"])
@pytest.mark.parametrize("mode", ["local", "private-networks-allowed"])
def test_an_international_domain_name_is_looked_up_and_sent_as_its_a_label(
    receiver, site, application, knobs, dns, mode, host
):
    knobs.LOCAL_MODE = mode == "local"
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = mode != "local"
    dns["xn--bcher-kva.test"] = ["127.0.0.1"]
    delivery = pending_delivery(site, application, f"http://{host}:{receiver.port}/hook")

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.DELIVERED, 200)
    assert dns.asked == [("xn--bcher-kva.test", receiver.port)]
    [request] = receiver.requests("/hook")
    assert request.headers["host"] == f"xn--bcher-kva.test:{receiver.port}"


def test_a_stored_url_the_rules_now_refuse_fails_unsent_with_the_reason(
    receiver, site, application, dns
):
    """Stored before PUT checked international names (local mode)."""
    delivery = pending_delivery(site, application, f"http://☃.test:{receiver.port}/hook")

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error == (
        "Refused: The URL's host is not a valid international domain name."
    )
    assert (delivery.attempts, delivery.last_status_code) == (1, None)
    assert dns.asked == []
    assert receiver.requests() == []


@pytest.mark.parametrize(
    "addresses",
    [["64:ff9b::7f00:1"], ["2002:7f00:1::"], ["93.184.215.14", "10.0.0.1"]],
    ids=["nat64-loopback", "6to4-loopback", "public-and-private"],
)
def test_a_name_now_resolving_to_a_private_address_is_refused_at_send_time(
    site, application, knobs, dns, addresses
):
    delivery = pending_delivery(site, application, "https://hooks.partner.test/hook")
    dns["hooks.partner.test"] = addresses
    knobs.LOCAL_MODE = False
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error == "Refused: The URL must point to a public internet address."


# ---------------------------------------------------------------------------
# the secret, stored encrypted (subscriptions/crypto.py)


def test_after_a_key_rotation_deliveries_are_signed_with_the_same_secret(
    receiver, site, application, knobs
):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    knobs.SUBSCRIPTION_SECRET_KEYS = [old_key]
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    knobs.SUBSCRIPTION_SECRET_KEYS = [new_key, old_key]
    call_command("rotate_subscription_secrets", stdout=StringIO())
    knobs.SUBSCRIPTION_SECRET_KEYS = [new_key]

    deliver_now(delivery)

    [request] = receiver.requests("/hook")
    assert request.headers["x-lead-router-signature"] == (
        hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    )


def test_a_secret_no_key_decrypts_fails_the_delivery_with_the_reason_unsent(
    receiver, site, application, knobs
):
    knobs.SUBSCRIPTION_SECRET_KEYS = [Fernet.generate_key().decode()]
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    knobs.SUBSCRIPTION_SECRET_KEYS = [Fernet.generate_key().decode()]  # removed too early

    deliver_now(delivery)  # no exception: the job ends

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error == (
        "Subscription secret cannot be decrypted with SUBSCRIPTION_SECRET_KEYS "
        "(its key was removed); not sent"
    )
    assert (delivery.attempts, delivery.finished is not None) == (0, True)
    assert receiver.requests() == []


# ---------------------------------------------------------------------------
# answers that deserve another try


def test_a_timeout_is_retried(receiver, site, application, knobs):
    knobs.DELIVERY_CONNECT_TIMEOUT = 0.5
    knobs.DELIVERY_TOTAL_TIMEOUT = 1.0
    receiver.script("/hook", Reply(delay=3))
    delivery = pending_delivery(site, application, receiver.url("/hook"))

    with pytest.raises(RetryDelivery) as raised:
        deliver_now(delivery)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("Timeout")
    assert delivery.next_attempt_at is not None
    assert raised.value.delay == pytest.approx(knobs.DELIVERY_RETRY_SCHEDULE[0], rel=0.21)


@pytest.fixture
def trickling_partner():
    """A partner that answers at once, then sends its body one byte every 0.2 s: no
    single read waits long, the whole answer takes 20 s."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                if stop.wait(0.2):
                    return
                connection.sendall(b"x")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_the_whole_request_is_cut_at_the_total_timeout(trickling_partner, site, application, knobs):
    knobs.DELIVERY_TOTAL_TIMEOUT = 1.0
    delivery = pending_delivery(site, application, trickling_partner)

    started = time.monotonic()
    with pytest.raises(RetryDelivery):
        deliver_now(delivery)

    assert time.monotonic() - started < 3
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert delivery.last_error == "Timeout: no answer within 1 s"


def test_a_connection_error_is_retried(site, application):
    # A port nothing listens on: bind one, then close it.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = pending_delivery(site, application, f"http://127.0.0.1:{port}/hook")

    with pytest.raises(RetryDelivery):
        deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert delivery.last_error.startswith("Connection error")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_these_statuses_are_retried(receiver, site, application, status):
    receiver.script("/hook", Reply(status))
    delivery = pending_delivery(site, application, receiver.url("/hook"))

    with pytest.raises(RetryDelivery):
        deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.PENDING, status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 422])
def test_other_4xx_fail_at_once(receiver, site, application, status):
    receiver.script("/hook", Reply(status))
    delivery = pending_delivery(site, application, receiver.url("/hook"))

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.FAILED, status)
    assert delivery.last_error == f"HTTP {status}"


def test_a_partner_with_every_slot_taken_is_not_called_and_the_delivery_waits(
    receiver, site, application, knobs
):
    knobs.DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION = 1
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    subscription_id = delivery.subscription_id
    assert subscription_id is not None

    async def attempt_with_every_slot_taken(pool: AsyncConnectionPool) -> None:
        async with partner_slot(subscription_id) as taken:
            assert taken
            with pytest.raises(PartnerBusy):
                await deliver_once(str(delivery.id), database=pool)

    with_worker_pool(attempt_with_every_slot_taken)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 0)
    assert delivery.next_attempt_at is not None
    assert receiver.requests() == []


# ---------------------------------------------------------------------------
# whatever the partner answers, the outcome is recorded

GIF = b"GIF89a\x01\x00\x01\x00\x00\xff\x00"  # 13 bytes, NULs included


@pytest.mark.parametrize(
    ("body", "snippet"),
    [
        (b'{"ok": true}\x00', '{"ok": true}\\x00'),
        (GIF, "GIF89a\x01\\x00\x01\\x00\\x00\\xff\\x00"),  # other controls are kept
        (b"caf\xe9", "caf\\xe9"),  # Latin-1, not UTF-8
        (b"\xed\xa0\x80 lone surrogate", "\\xed\\xa0\\x80 lone surrogate"),  # UTF-8 of U+D800
    ],
    ids=["nul", "gif", "latin-1", "encoded-surrogate"],
)
def test_a_200_with_any_body_is_delivered_and_its_snippet_kept_readable(
    receiver, site, application, body, snippet
):
    receiver.script("/hook", Reply(200, body=body))
    delivery = pending_delivery(site, application, receiver.url("/hook"))

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.DELIVERED, 200)
    assert delivery.response_snippet == snippet


def test_a_200_whose_body_does_not_decompress_is_delivered(receiver, site, application):
    """The partner said 200: a body that is not the gzip its header announces changes
    nothing (it used to be a connection error, retried, and sent again)."""
    receiver.script("/hook", Reply(200, headers={"Content-Encoding": "gzip"}, body=b"not gzip"))
    delivery = pending_delivery(site, application, receiver.url("/hook"))

    deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)
    assert delivery.response_snippet == "not gzip"


def test_a_503_with_a_binary_body_is_recorded_and_retried(receiver, site, application):
    receiver.script("/hook", Reply(503, body=GIF))
    delivery = pending_delivery(site, application, receiver.url("/hook"))

    with pytest.raises(RetryDelivery):
        deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert (delivery.last_status_code, delivery.last_error) == (503, "HTTP 503")
    assert delivery.response_snippet.startswith("GIF89a\x01\\x00")
    assert delivery.next_attempt_at is not None


# ---------------------------------------------------------------------------
# whatever goes wrong, the delivery ends in a recorded state


def test_an_unexpected_error_is_recorded_with_its_reason_and_retried_on_the_schedule(
    receiver, site, application, knobs
):
    knobs.DELIVERY_RETRY_SCHEDULE = [5, 60]
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    corrupt_secret(Subscription.objects.filter(deliveries=delivery))

    with pytest.raises(RetryDelivery) as raised:
        deliver_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert delivery.last_error.startswith("Unexpected error: UnicodeDecodeError: ")
    assert delivery.next_attempt_at is not None
    assert raised.value.delay == pytest.approx(5, rel=0.21)
    assert receiver.requests() == []


def test_an_unexpected_error_with_the_schedule_used_up_fails_the_delivery(
    receiver, site, application, knobs
):
    knobs.DELIVERY_RETRY_SCHEDULE = [5]
    delivery = pending_delivery(site, application, receiver.url("/hook"))
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1)
    corrupt_secret(Subscription.objects.filter(deliveries=delivery))

    deliver_now(delivery)  # no exception: the job ends

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 2)
    assert delivery.last_error.startswith("Unexpected error: UnicodeDecodeError: ")
    assert delivery.last_error.endswith("; retries exhausted")
    assert delivery.finished is not None


def test_a_url_httpx_cannot_send_to_ends_in_a_recorded_state(site, application):
    """Issue 9's case: `http://☃.com/hook`, accepted by an older PUT in local mode, made
    httpx raise InvalidURL and the delivery stayed pending with its job failed."""
    delivery = pending_delivery(site, application, "http://127.0.0.1/hook")
    Subscription.objects.filter(deliveries=delivery).update(url="http://☃.com/hook")

    with contextlib.suppress(RetryDelivery):  # a retry, if that is the outcome
        deliver_now(delivery)

    delivery.refresh_from_db()
    assert delivery.last_error
    assert delivery.state == DeliveryState.FAILED or (
        delivery.state == DeliveryState.PENDING and delivery.next_attempt_at is not None
    )
