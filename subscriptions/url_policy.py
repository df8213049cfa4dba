"""Which webhook URLs we agree to call.

Outside local mode a partner must not be able to point our delivery worker at our own
network (SSRF): the host may not be, or resolve to, a loopback, private, link-local,
multicast or reserved address, unless the deployment allows private networks.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2048


class UnsafeURL(ValueError):
    pass


def check_url_shape(url: str) -> None:
    """Raises UnsafeURL with a message for the partner when the URL cannot be a webhook."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"Ensure this field has no more than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() for ch in url):
        raise UnsafeURL("Enter a valid URL without spaces.")
    if not is_printable_unicode(url):
        # Control characters and lone surrogates: unstorable (PostgreSQL refuses NUL,
        # UTF-8 refuses surrogates) and never part of a URL.
        raise UnsafeURL("Enter a valid URL.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError as exc:
        raise UnsafeURL("Enter a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("Enter an absolute http or https URL.")
    if "#" in url:
        raise UnsafeURL("The URL must not contain a fragment.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("The URL must not contain credentials.")


def has_lone_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def is_printable_unicode(text: str) -> bool:
    """No C0/C1 control character and no lone surrogate (which JSON's \\uXXXX can carry)."""
    return not any(
        ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or "\ud800" <= ch <= "\udfff" for ch in text
    )


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def private_networks_allowed() -> bool:
    return settings.LOCAL_MODE or settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS


def resolve_public_addresses(host: str, port: int) -> list[str]:
    """Every address of `host`, all of which must be public; raises UnsafeURL otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:  # gaierror, bad IDNA, embedded NUL
        raise UnsafeURL("The URL's host name does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not all(is_public_address(address) for address in addresses):
        raise UnsafeURL("The URL must point to a public internet address.")
    return addresses


def check_webhook_url(url: str) -> None:
    check_url_shape(url)
    if private_networks_allowed():
        return
    parts = urlsplit(url)
    resolve_public_addresses(parts.hostname or "", parts.port or 443)
