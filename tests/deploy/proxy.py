"""The production web tier as real processes: Debian's nginx with the shipped config
(deploy/nginx.conf.template, rendered by deploy/render_nginx_conf.py) in front of
gunicorn with gunicorn.conf.py in production mode, over TLS with a throwaway certificate.

Every listening socket is bound here on 127.0.0.1 port 0 and handed to the process that
serves it (gunicorn's `--bind fd://N`, nginx's inherited-socket variable `NGINX`), so no
port is ever guessed. Both run in their own process groups and are stopped at the end.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from subscriptions.conf import app_settings
from tests.leads.worker import BASE_DIR, wait_until
from tests.test_deploy_check import production_env

SERVER_NAME = "rg.example.com"
RENDER = BASE_DIR / "deploy" / "render_nginx_conf.py"

# What the test's nginx needs around the shipped server blocks: its own pid, logs and
# temporary files, in the foreground. Production has Debian's /etc/nginx/nginx.conf.
MAIN_CONFIG = """\
daemon off;
user {user};
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/realgeeks.conf;
}}
"""


def nginx_binary() -> str:
    """Debian's nginx; CI (`.ci/run`) installs it, so there its absence is a failure."""
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed; .ci/run installs Debian's package")
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    return found


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(511)
    sock.set_inheritable(True)
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A one-day certificate for SERVER_NAME and 127.0.0.1; returns (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(SERVER_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@contextmanager
def running(
    command: list[str], *, log: Path, env: dict[str, str], pass_fds: tuple[int, ...]
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` in its own process group until the block ends, then SIGTERM (both
    gunicorn and nginx stop on it), SIGKILL if it lingers."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def gunicorn(directory: Path, *, database_url: str) -> Iterator[int]:
    """gunicorn.conf.py as production runs it, on the test database and with the test's
    subscription keys (so it reads the rows tests write); yields its port."""
    with listening_socket() as sock:
        env = production_env(
            ALLOWED_HOSTS=SERVER_NAME,
            DATABASE_URL=database_url,
            SUBSCRIPTION_SECRET_KEYS=",".join(app_settings.SUBSCRIPTION_SECRET_KEYS),
            PYTHONUNBUFFERED="1",
        )
        command = [sys.executable, "-m", "gunicorn", "realgeeks.wsgi"]
        command += ["--config", "gunicorn.conf.py", "--bind", f"fd://{sock.fileno()}"]
        log = directory / "gunicorn.log"
        with running(command, log=log, env=env, pass_fds=(sock.fileno(),)):
            yield port_of(sock)


def render(directory: Path, **values: str) -> Path:
    """The shipped template, rendered by the shipped script."""
    result = subprocess.run(
        [sys.executable, str(RENDER)],
        env={key: value for key, value in os.environ.items() if not key.startswith("NGINX")}
        | values,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    path = directory / "realgeeks.conf"
    path.write_text(result.stdout)
    return path


@dataclass
class Answer:
    status: int
    content_type: str | None
    body: bytes


@dataclass
class Proxy:
    https_port: int
    http_port: int
    certificate: Path
    directory: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))

    def client(self, *, local_address: str = "127.0.0.1") -> httpx.Client:
        """A client of the public site: HTTPS to nginx, `Host` the server name, from
        `local_address` (any of 127.0.0.0/8)."""
        return httpx.Client(
            base_url=self.url,
            headers={"Host": SERVER_NAME},
            timeout=10,
            transport=httpx.HTTPTransport(verify=self.tls(), local_address=local_address),
        )

    def connect(self, *, local_address: str = "127.0.0.1") -> ssl.SSLSocket:
        raw = socket.create_connection(
            ("127.0.0.1", self.https_port), timeout=10, source_address=(local_address, 0)
        )
        return self.tls().wrap_socket(raw, server_hostname="127.0.0.1")

    def exchange(self, request: bytes) -> Answer:
        """`request` sent as it is, byte for byte, on a connection of its own."""
        with self.connect() as connection:
            connection.sendall(request)
            response = http.client.HTTPResponse(connection)
            response.begin()
            return Answer(response.status, response.getheader("Content-Type"), response.read())

    def config(self) -> str:
        """The rendered server blocks."""
        return (self.directory / "realgeeks.conf").read_text()

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text() if path.exists() else ""


@contextmanager
def nginx(directory: Path, *, upstream: str) -> Iterator[Proxy]:
    """nginx with the shipped config in front of `upstream`, until the block ends."""
    binary = nginx_binary()
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = self_signed_certificate(directory)
    with ExitStack() as stack:
        https, http_ = (stack.enter_context(listening_socket()) for _ in range(2))
        render(
            directory,
            NGINX_SERVER_NAME=SERVER_NAME,
            NGINX_LISTEN_HTTPS=f"127.0.0.1:{port_of(https)}",
            NGINX_LISTEN_HTTP=f"127.0.0.1:{port_of(http_)}",
            NGINX_UPSTREAM=upstream,
            NGINX_TLS_CERTIFICATE=str(certificate),
            NGINX_TLS_CERTIFICATE_KEY=str(key),
            NGINX_ACCESS_LOG=str(directory / "access.log"),
        )
        config = directory / "nginx.conf"
        config.write_text(MAIN_CONFIG.format(dir=directory, user=_user()))
        fds = (https.fileno(), http_.fileno())
        # nginx takes over listening sockets named in NGINX, as in a binary upgrade.
        env = {"PATH": os.environ.get("PATH", ""), "NGINX": "".join(f"{fd};" for fd in fds)}
        command = [binary, "-p", str(directory), "-e", str(directory / "error.log")]
        log = directory / "nginx.log"
        with running([*command, "-c", str(config)], log=log, env=env, pass_fds=fds) as process:
            proxy = Proxy(port_of(https), port_of(http_), certificate, directory)
            wait_until(lambda: _started(process, proxy, log), timeout=30, message="nginx to listen")
            yield proxy


def _user() -> str:
    """Workers run as the user running the test (nginx ignores `user` unless root)."""
    return pwd.getpwuid(os.getuid()).pw_name


def _started(process: subprocess.Popen[bytes], proxy: Proxy, log: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"nginx exited:\n{log.read_text()}\n{proxy.error_log()}")
    return "start worker process" in proxy.error_log()
