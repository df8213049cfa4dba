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


# The IANA special-purpose registries (RFC 6890), and more. Python's `ipaddress` is not
# used: its idea of "global" changes between releases (3.11 calls 192.0.0.8 global).
REFUSED_IPV4_NETWORKS = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",  # "this network", RFC 791 §3.2
        "10.0.0.0/8",  # private, RFC 1918 §3
        "100.64.0.0/10",  # shared address space (carrier-grade NAT), RFC 6598 §7
        "127.0.0.0/8",  # loopback, RFC 1122 §3.2.1.3
        "169.254.0.0/16",  # link-local (cloud metadata), RFC 3927 §2.1
        "172.16.0.0/12",  # private, RFC 1918 §3
        "192.0.0.0/24",  # IETF protocol assignments (192.0.0.8 dummy...), RFC 6890 §2.2.2
        "192.0.2.0/24",  # documentation, RFC 5737 §3
        "192.31.196.0/24",  # AS112, RFC 7535
        "192.52.193.0/24",  # AMT, RFC 7450
        "192.88.99.0/24",  # 6to4 relay anycast, RFC 7526 §2
        "192.168.0.0/16",  # private, RFC 1918 §3
        "192.175.48.0/24",  # AS112 direct delegation, RFC 7534
        "198.18.0.0/15",  # benchmarking, RFC 2544
        "198.51.100.0/24",  # documentation, RFC 5737 §3
        "203.0.113.0/24",  # documentation, RFC 5737 §3
        "224.0.0.0/4",  # multicast, RFC 5771
        "240.0.0.0/4",  # reserved and the broadcast address, RFC 1112 §4, RFC 919
    )
)
# Only global unicast space is ever allocated (RFC 4291 §2.4): this alone refuses
# loopback, unspecified, IPv4-compatible (::/96) and -translated (::ffff:0:0:0/96) forms,
# the NAT64 local-use prefix (64:ff9b:1::/48), discard (100::/64), SRv6 (5f00::/16),
# unique local, link-local, site-local and multicast addresses.
IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
REFUSED_IPV6_NETWORKS = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "2001::/23",  # IETF protocol assignments, Teredo among them, RFC 2928
        "2001:db8::/32",  # documentation, RFC 3849
        "3fff::/20",  # documentation, RFC 9637
    )
)
NAT64_WELL_KNOWN_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 §2.1


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `ip` actually reaches: IPv4-mapped (RFC 4291
    §2.5.5.2), NAT64 well-known prefix (RFC 6052 §2.2) or 6to4 (RFC 3056 §2)."""
    if ip in NAT64_WELL_KNOWN_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        ipv4 = embedded_ipv4(ip)
        if ipv4 is None:
            return ip in IPV6_GLOBAL_UNICAST and not any(ip in n for n in REFUSED_IPV6_NETWORKS)
        ip = ipv4
    return not any(ip in network for network in REFUSED_IPV4_NETWORKS)


def private_networks_allowed() -> bool:
    return settings.LOCAL_MODE or settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS


def lookup(host: str, port: int) -> list[str]:
    """Every address DNS gives for `host`, in the resolver's order (OSError for none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_public_addresses(host: str, port: int) -> list[str]:
    """Every address of `host`, all of which must be public; raises UnsafeURL otherwise."""
    try:
        addresses = lookup(host, port)
    except (OSError, UnicodeError, ValueError) as exc:  # gaierror, bad IDNA, embedded NUL
        raise UnsafeURL("The URL's host name does not resolve.") from exc
    if not all(is_public_address(address) for address in addresses):
        raise UnsafeURL("The URL must point to a public internet address.")
    return addresses


def check_webhook_url(url: str) -> None:
    check_url_shape(url)
    if private_networks_allowed():
        return
    parts = urlsplit(url)
    resolve_public_addresses(parts.hostname or "", parts.port or 443)
