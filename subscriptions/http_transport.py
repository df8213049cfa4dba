"""The delivery client's transport: every connection goes to an address the URL policy
checked, while requests keep the partner's host name.

The check lives in the network backend, where a connection is opened: the name is
resolved once, its addresses checked, and the socket connected to the first of them, so
no second lookup (a DNS rebinding) can send it elsewhere. Everything above the socket
sees the name: httpcore pools connections by it (an https connection opened and verified
for one name is never reused for another name at the same address, a CDN's say), and TLS
sends it as the server name (RFC 6066 §3) and verifies the certificate against it (RFC
9110 §4.3.4). A reused connection costs no lookup.
"""

import asyncio
from collections.abc import Iterable

import httpcore
import httpx

from .url_policy import checked_addresses


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's asyncio backend, connecting to the checked address of the host.
    Raises the policy's UnsafeURL (UnresolvedHost for a name that does not resolve)."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # getaddrinfo blocks: off the event loop.
        addresses = await asyncio.to_thread(checked_addresses, host, port)
        return await self._backend.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool that connects through CheckedBackend."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        # httpx 0.28's transport takes no network backend, so its pool (a private
        # attribute) is replaced by one built as httpx builds it, with ours. The rest,
        # turning httpx requests into httpcore ones and back and httpcore errors into
        # httpx errors, stays httpx's own rather than copied here.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(),
        )
