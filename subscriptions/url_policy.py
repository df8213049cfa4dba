"""Which webhook URLs we agree to call.

Every URL must have a shape that works when we send (an http or https URL whose host is
a DNS name, a dotted-decimal IPv4 address or an IPv6 address). A name is used in its
IDNA form (RFC 5890 A-labels, after the UTS #46 mapping browsers apply) for DNS, the
address check and the Host header.

Outside local mode a partner must not be able to point our delivery worker at our own
network (SSRF): the host may not be, or resolve to, a loopback, private, link-local,
multicast or otherwise special-purpose address, unless the deployment allows private
networks.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

import idna
from django.conf import settings

from core.text import is_storable_text

from .conf import app_settings

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253  # RFC 1035 §2.3.4: 255 octets on the wire, with length octets
MAX_LABEL_LENGTH = 63  # RFC 1035 §2.3.4

# RFC 3986 §3.2.2-3.2.3: a bracketed IP literal or a reg-name, then an optional port.
NETLOC = re.compile(r"(?P<host>\[[^\[\]]*\]|[^\[\]:]*)(?::(?P<port>[0-9]*))?", re.ASCII)
# Letters, digits, hyphens; underscores too, which DNS allows (RFC 2181 §11).
NAME_LABEL = re.compile(r"[a-z0-9_-]+", re.ASCII)
# A host whose last label is a number is an IPv4 address to URL parsers (the WHATWG URL
# standard's "ends in a number"), and inet_aton reads 127.1, 0x7f.1, 0177.0.0.1 and
# 2130706433 as 127.0.0.1: only the plain dotted-decimal form is taken.
NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*", re.ASCII)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    pass


@dataclass(frozen=True)
class WebhookURL:
    """A URL that passed the shape rules, with its host as DNS and HTTP want it."""

    parts: SplitResult
    host: str  # lowercase ASCII: a name in IDNA form, or an IP address without brackets
    port: int | None  # None: the scheme's default
    address: IPAddress | None  # the host, when it is an IP address

    @property
    def effective_port(self) -> int:
        return self.port or (443 if self.parts.scheme == "https" else 80)


def parse_webhook_url(url: str) -> WebhookURL:
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
    except ValueError as exc:
        raise UnsafeURL("Enter a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UnsafeURL("Enter an absolute http or https URL.")
    if "#" in url:
        raise UnsafeURL("The URL must not contain a fragment.")
    if "@" in parts.netloc:
        raise UnsafeURL("The URL must not contain credentials.")
    netloc = NETLOC.fullmatch(parts.netloc)
    if netloc is None:
        raise UnsafeURL("Enter a valid URL.")
    port = int(netloc["port"]) if netloc["port"] else None
    if port is not None and not 0 < port < 65536:
        raise UnsafeURL("The URL's port must be from 1 to 65535.")
    host, address = parse_host(netloc["host"])
    return WebhookURL(parts=parts, host=host, port=port, address=address)


def parse_host(text: str) -> tuple[str, IPAddress | None]:
    """(host in lowercase ASCII, its address if it is an IP literal)."""
    if not text:
        raise UnsafeURL("Enter an absolute http or https URL.")
    if "%" in text:
        # Percent-encoding (RFC 3986 §3.2.2) or an IPv6 zone id (RFC 6874): neither
        # means anything to a resolver, nor in a Host header.
        raise UnsafeURL("The URL's host must not contain '%'.")
    if text.startswith("["):
        try:
            ipv6 = ipaddress.IPv6Address(text[1:-1])
        except ValueError as exc:  # also IPvFuture, RFC 3986 §3.2.2
            raise UnsafeURL("Enter a valid URL.") from exc
        return str(ipv6), ipv6
    try:
        host = text.lower() if text.isascii() else idna.encode(text, uts46=True).decode()
    except idna.IDNAError as exc:
        raise UnsafeURL("The URL's host is not a valid international domain name.") from exc
    if host.endswith("."):
        raise UnsafeURL("The URL's host must not end with a dot.")
    labels = host.split(".")
    if NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            ipv4 = ipaddress.IPv4Address(host)  # refuses leading zeros, hence octal
        except ValueError as exc:
            raise UnsafeURL(
                "Write an IPv4 address as four decimal numbers, like 93.184.215.14."
            ) from exc
        return host, ipv4
    if not all(labels):
        raise UnsafeURL("The URL's host must not have an empty label.")
    if any(len(label) > MAX_LABEL_LENGTH for label in labels):
        raise UnsafeURL(
            f"Each label of the URL's host must be at most {MAX_LABEL_LENGTH} characters."
        )
    if len(host) > MAX_HOST_LENGTH:
        raise UnsafeURL(f"The URL's host must be at most {MAX_HOST_LENGTH} characters.")
    if not all(NAME_LABEL.fullmatch(label) for label in labels):
        raise UnsafeURL("The URL's host may only have letters, digits, '-', '_' and dots.")
    return host, None


def is_printable_unicode(text: str) -> bool:
    """Text PostgreSQL can store, without a C0 or C1 control character."""
    return is_storable_text(text) and not any(
        ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text
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
    return settings.LOCAL_MODE or app_settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS


def lookup(host: str, port: int) -> list[str]:
    """Every address DNS gives for `host` (ASCII), in the resolver's order; OSError for none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class UnresolvedHost(UnsafeURL):
    """At send time a passing DNS failure, worth another try, unlike the rest."""


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses of `host` (a name in IDNA form or an IP address without brackets):
    all public, unless private networks are allowed."""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = lookup(host, port)
        except OSError as exc:
            raise UnresolvedHost("The URL's host name does not resolve.") from exc
    if not addresses:
        raise UnresolvedHost("The URL's host name does not resolve.")
    if not private_networks_allowed() and not all(map(is_public_address, addresses)):
        raise UnsafeURL("The URL must point to a public internet address.")
    return addresses


def check_webhook_url(url: str) -> None:
    """For a PUT: the shape rules, and outside local mode where the host resolves to."""
    webhook = parse_webhook_url(url)
    if not private_networks_allowed():
        checked_addresses(webhook.host, webhook.effective_port)


def webhook_destination(url: str) -> str:
    """The URL as it is sent: the shape rules checked again (they may have changed since
    PUT), the host in IDNA form, for DNS, the Host header (RFC 9110 §7.2) and TLS. Where
    the host resolves to is checked when a connection to it is made (http_transport.py,
    through `checked_addresses`)."""
    webhook = parse_webhook_url(url)
    host = f"[{webhook.host}]" if ":" in webhook.host else webhook.host
    port = f":{webhook.port}" if webhook.port else ""
    return urlunsplit(webhook.parts._replace(netloc=host + port))
