"""The client's address, for the login lockout (django-axes) and the rate limits.

Behind `TRUSTED_PROXY_COUNT` proxies, REMOTE_ADDR is the nearest proxy's address and the
client's is the one the outermost trusted proxy appended to `CLIENT_IP_HEADER`
(`X-Forwarded-For`): counted from the right, because everything to its left came from
the client and can be forged.
"""

import ipaddress

from django.http import HttpRequest

from .conf import app_settings

# IPv6 clients are told apart by their /64: a single host is usually given a whole /64
# (RFC 6177 §3 recommends at least that per site), so counting addresses one by one
# would let it rotate past every per-address limit.
IPV6_CLIENT_PREFIX = 64


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address; an IPv6 client's /64 network address; None if unknown."""
    return _forwarded_address(request) or _normalized(request.META.get("REMOTE_ADDR", ""))


def _forwarded_address(request: HttpRequest) -> str | None:
    count: int = app_settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return None
    meta_key = "HTTP_" + app_settings.CLIENT_IP_HEADER.upper().replace("-", "_")
    hops = [hop.strip() for hop in request.META.get(meta_key, "").split(",") if hop.strip()]
    if len(hops) < count:
        return None  # the request did not come through every trusted proxy
    return _normalized(hops[-count])


def _normalized(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return str(network.network_address)
    return str(address)
