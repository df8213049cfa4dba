"""The partner's side of a delivery: the worker's HTTP client, the signed POST, and the
answer as it came back."""

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from subscriptions.http_transport import CheckedTransport
from subscriptions.url_policy import UnresolvedHost, UnsafeURL, webhook_destination

from ..conf import app_settings

USER_AGENT = "RealGeeks-LeadRouter/1.0 (PieSync integration)"
SNIPPET_BYTES = 512

_loop_client: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None


def loop_client() -> httpx.AsyncClient:
    """The client of the running event loop, whose connections to a partner are reused.
    The worker has one event loop for its life; tests run one per test."""
    global _loop_client
    loop = asyncio.get_running_loop()
    if _loop_client is None or _loop_client[0] is not loop:
        _loop_client = (loop, new_http_client())
    return _loop_client[1]


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        # Per operation; the 15 s for the whole request is enforced around it (`post`).
        timeout=httpx.Timeout(
            connect=app_settings.DELIVERY_CONNECT_TIMEOUT,
            read=app_settings.DELIVERY_TOTAL_TIMEOUT,
            write=app_settings.DELIVERY_TOTAL_TIMEOUT,
            pool=app_settings.DELIVERY_CONNECT_TIMEOUT,
        ),
        transport=CheckedTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        ),
        headers={"User-Agent": USER_AGENT},
    )


def sign(body: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the exact body bytes (reference §1.3)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def signed_headers(body: bytes, *, secret: str, action: str, message_id: str) -> dict[str, str]:
    """The headers of a webhook request (reference §1.3): the signature of `body`, and
    the message id, stable across retries."""
    return {
        "Content-Type": "application/json",
        "X-Lead-Router-Action": action,
        "X-Lead-Router-Signature": sign(body, secret),
        "X-Lead-Router-Timestamp": rfc3339_now(),
        "X-Lead-Router-Message-Id": message_id,
    }


@dataclass
class Answer:
    status_code: int | None
    error: str
    snippet: str
    retry_after: str | None  # the header as sent (retry.parse_retry_after reads it)
    refused: bool = False  # the address guard said no: retrying will not help


async def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to the URL's host, connected to the address it resolved to, checked against
    private ranges outside local mode (subscriptions.http_transport), with
    DELIVERY_TOTAL_TIMEOUT for the whole exchange, lookup included (httpx's timeouts are
    per operation: a partner trickling its answer would otherwise hold the request for
    ever)."""
    try:
        async with (
            asyncio.timeout(app_settings.DELIVERY_TOTAL_TIMEOUT),
            loop_client().stream(
                "POST", webhook_destination(url), content=body, headers=headers
            ) as response,
        ):
            snippet = b""
            # As sent, not decompressed: a body that is not the gzip its header announces
            # must not turn a partner's 2xx into an error (and a resend).
            async for chunk in response.aiter_raw():
                snippet += chunk
                if len(snippet) >= SNIPPET_BYTES:
                    break
            return Answer(
                response.status_code,
                "" if response.is_success else f"HTTP {response.status_code}",
                # Whatever the bytes (binary, Latin-1, NUL): readable, and never an error.
                snippet[:SNIPPET_BYTES].decode("utf-8", "backslashreplace"),
                response.headers.get("Retry-After"),
            )
    except UnresolvedHost as exc:
        return Answer(None, f"Connection error: {exc}", "", None)
    except UnsafeURL as exc:
        return Answer(None, f"Refused: {exc}", "", None, refused=True)
    except TimeoutError:
        limit = app_settings.DELIVERY_TOTAL_TIMEOUT
        return Answer(None, f"Timeout: no answer within {limit:g} s", "", None)
    except httpx.TimeoutException as exc:
        return Answer(None, f"Timeout: {type(exc).__name__}", "", None)
    except httpx.HTTPError as exc:
        return Answer(None, f"Connection error: {type(exc).__name__}: {exc}", "", None)
