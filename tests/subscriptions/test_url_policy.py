"""Which webhook URLs a PUT accepts: no pointing our delivery worker at our own network."""

import json

import pytest
from django.test import Client

from subscriptions.models import Subscription

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PUBLIC_ONLY = "The URL must point to a public internet address."


def put_url(site, token, url):
    return Client().put(
        f"/piesync/subscription/{site.uuid}/",
        json.dumps({"url": url, "secret": "s3cret"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1:8080/hook",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://localhost/",
        "http://LOCALHOST:8000/hook",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://0.0.0.0/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
    ],
    ids=[
        "loopback",
        "private-10",
        "private-172",
        "private-192-with-port",
        "shared-cgnat",
        "link-local-metadata",
        "ipv6-loopback",
        "ipv4-mapped-loopback",
        "ipv6-link-local",
        "ipv6-unique-local",
        "localhost",
        "localhost-uppercase",
        "multicast",
        "ipv6-multicast",
        "unspecified",
        "reserved",
        "broadcast",
    ],
)
def test_non_public_address_is_422_in_production(production_mode, site, access_token, url):
    response = put_url(site, access_token, url)

    assert response.status_code == 422
    assert response.json() == {"error": "Invalid fields", "fields": {"url": [PUBLIC_ONLY]}}
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["https://93.184.215.14/hook", "http://[2606:2800:21f:cb07:6820:80da:af6b:1]:8443/hook"],
    ids=["ipv4", "ipv6"],
)
def test_public_ip_literal_is_accepted_in_production(production_mode, site, access_token, url):
    response = put_url(site, access_token, url)

    assert response.status_code == 200
    assert response.json() == {"url": url, "secret": "s3cret"}
    assert Subscription.objects.get().url == url


def test_unresolvable_host_is_422_in_production(production_mode, dns, site, access_token):
    response = put_url(site, access_token, "https://no-such-host.invalid/hook")

    assert response.status_code == 422
    assert response.json() == {
        "error": "Invalid fields",
        "fields": {"url": ["The URL's host name does not resolve."]},
    }


def test_name_resolving_to_public_and_private_addresses_is_422(
    production_mode, dns, site, access_token
):
    dns["hooks.piesync.test"] = ["93.184.215.14", "10.1.2.3"]

    response = put_url(site, access_token, "https://hooks.piesync.test/hook")

    assert response.status_code == 422
    assert response.json()["fields"] == {"url": [PUBLIC_ONLY]}
    assert dns.asked == [("hooks.piesync.test", 443)]


def test_name_resolving_only_to_public_addresses_is_accepted(
    production_mode, dns, site, access_token
):
    dns["hooks.piesync.test"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:1"]

    response = put_url(site, access_token, "https://hooks.piesync.test/hook")

    assert response.status_code == 200


def test_name_resolving_to_a_nat64_form_of_loopback_is_422(
    production_mode, dns, site, access_token
):
    dns["hooks.piesync.test"] = ["64:ff9b::7f00:1"]

    response = put_url(site, access_token, "https://hooks.piesync.test/hook")

    assert response.status_code == 422
    assert response.json()["fields"] == {"url": [PUBLIC_ONLY]}


# Forms production once accepted: Python 3.11's `ipaddress` calls them global.
@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/",
        "http://[::ffff:0:7f00:1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[64:ff9b:1::5db8:d70e]/",
        "http://[2002:7f00:1::]/",
        "http://[2002:a9fe:a9fe::1]/",
        "http://[2001:0:5db8:d70e::80ff:fffe]/",
        "http://192.0.0.8/",
        "http://192.0.0.170/",
        "http://192.88.99.1/",
        "http://198.18.0.1/",
        "http://192.0.2.1/",
        "http://198.51.100.7/",
        "http://203.0.113.9/",
        "http://[2001:db8::1]/",
        "http://[3fff::1]/",
        "http://[100::1]/",
        "http://[fec0::1]/",
        "http://[5f00::1]/",
    ],
    ids=[
        "ipv4-compatible-loopback",
        "ipv4-translated-loopback",
        "nat64-loopback",
        "nat64-metadata",
        "nat64-local-use-prefix",
        "6to4-loopback",
        "6to4-metadata",
        "teredo-loopback-client",
        "ipv4-dummy",
        "nat64-discovery",
        "6to4-relay-anycast",
        "benchmarking",
        "documentation-1",
        "documentation-2",
        "documentation-3",
        "ipv6-documentation",
        "ipv6-documentation-2024",
        "ipv6-discard",
        "ipv6-site-local",
        "srv6-sids",
    ],
)
def test_embedded_and_special_purpose_addresses_are_422_in_production(
    production_mode, site, access_token, url
):
    response = put_url(site, access_token, url)

    assert response.status_code == 422
    assert response.json() == {"error": "Invalid fields", "fields": {"url": [PUBLIC_ONLY]}}
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::5db8:d70e]/hook",
        "http://[2002:5db8:d70e::1]/hook",
        "http://[::ffff:93.184.215.14]/hook",
    ],
    ids=["nat64", "6to4", "ipv4-mapped"],
)
def test_embedded_public_ipv4_address_is_accepted_in_production(
    production_mode, site, access_token, url
):
    response = put_url(site, access_token, url)

    assert response.status_code == 200
    assert Subscription.objects.get().url == url


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/hook", "http://127.0.0.1:9000/", "http://localhost/"]
)
def test_private_networks_accepted_when_the_deployment_allows_them(
    production_mode, site, access_token, url
):
    production_mode.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    response = put_url(site, access_token, url)

    assert response.status_code == 200
    assert Subscription.objects.get().url == url


def test_local_mode_accepts_loopback(knobs, site, access_token):
    knobs.LOCAL_MODE = True
    knobs.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    response = put_url(site, access_token, "http://127.0.0.1:8000/webhook")

    assert response.status_code == 200
    assert Subscription.objects.get().url == "http://127.0.0.1:8000/webhook"


def test_shape_rules_still_apply_when_private_networks_are_allowed(
    production_mode, site, access_token
):
    production_mode.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    response = put_url(site, access_token, "ftp://10.0.0.1/")

    assert response.status_code == 422
    assert response.json()["fields"] == {"url": ["Enter an absolute http or https URL."]}


# ---------------------------------------------------------------------------
# The host's shape, in every mode: what passes here also works at send time.

IPV4_FORM = "Write an IPv4 address as four decimal numbers, like 93.184.215.14."
LONG_LABEL = "Each label of the URL's host must be at most 63 characters."


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://☃.com/hook", "The URL's host is not a valid international domain name."),
        ("http://bücher_shop.test/", "The URL's host is not a valid international domain name."),
        ("http://-bücher.test/", "The URL's host is not a valid international domain name."),
        ("https://api.piesync.test./hook", "The URL's host must not end with a dot."),
        ("https://api..piesync.test/hook", "The URL's host must not have an empty label."),
        (
            "https://" + "a" * 64 + ".test/",
            "Each label of the URL's host must be at most 63 characters.",
        ),
        (
            "https://" + ("a" * 62 + ".") * 4 + "test/",
            "The URL's host must be at most 253 characters.",
        ),
        ("https://api%2Epiesync.test/hook", "The URL's host must not contain '%'."),
        ("http://[fe80::1%25eth0]:8080/hook", "The URL's host must not contain '%'."),
        ("http://[2606:2800:21f:cb07:6820:80da:af6b:1]x/", "Enter a valid URL."),
        ("http://[v1.future]/", "Enter a valid URL."),
        ("https://api.piesync.test:0/hook", "The URL's port must be from 1 to 65535."),
        ("https://api.piesync.test:65536/hook", "The URL's port must be from 1 to 65535."),
        ("https://@api.piesync.test/hook", "The URL must not contain credentials."),
        ("https://partner@api.piesync.test/hook", "The URL must not contain credentials."),
        ("http://0x7f.1/", IPV4_FORM),
        ("http://2130706433/", IPV4_FORM),
        ("http://127.1/", IPV4_FORM),
        ("http://0177.0.0.1/", IPV4_FORM),
        ("http://93.184.215.014/", IPV4_FORM),
        ("http://1572394766/", IPV4_FORM),
        ("http://1.2.3.4.5/", IPV4_FORM),
    ],
    ids=[
        "idn-symbol",
        "idn-underscore",
        "idn-leading-hyphen",
        "trailing-dot",
        "empty-label",
        "label-over-63",
        "host-over-253",
        "percent-encoded",
        "ipv6-zone-id",
        "after-ipv6-literal",
        "ipvfuture",
        "port-zero",
        "port-over-65535",
        "empty-userinfo",
        "user-only",
        "ipv4-hex",
        "ipv4-one-number",
        "ipv4-shorthand",
        "ipv4-octal",
        "ipv4-leading-zero",
        "ipv4-public-as-one-number",
        "ipv4-five-parts",
    ],
)
def test_host_or_port_that_cannot_work_is_422_in_every_mode(site, access_token, url, message):
    response = put_url(site, access_token, url)

    assert response.status_code == 422
    assert response.json() == {"error": "Invalid fields", "fields": {"url": [message]}}
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["https://bücher.test/hook", "https://BÜCHER.test/hook", "https://bücher。test/hook"],
    ids=["lowercase", "uppercase", "ideographic-full-stop"],
)
def test_international_domain_name_is_checked_in_its_idna_form(
    production_mode, dns, site, access_token, url
):
    dns["xn--bcher-kva.test"] = ["93.184.215.14"]

    response = put_url(site, access_token, url)

    assert response.status_code == 200
    assert response.json() == {"url": url, "secret": "s3cret"}
    assert Subscription.objects.get().url == url
    assert dns.asked == [("xn--bcher-kva.test", 443)]


def test_international_domain_name_resolving_to_a_private_address_is_422(
    production_mode, dns, site, access_token
):
    dns["xn--bcher-kva.test"] = ["10.0.0.7"]

    response = put_url(site, access_token, "https://bücher.test/hook")

    assert response.status_code == 422
    assert response.json()["fields"] == {"url": [PUBLIC_ONLY]}


def test_uppercase_host_is_accepted_as_sent_and_looked_up_in_lowercase(
    production_mode, dns, site, access_token
):
    dns["api.piesync.test"] = ["93.184.215.14"]

    response = put_url(site, access_token, "https://API.PieSync.TEST:8443/Hook")

    assert response.status_code == 200
    assert Subscription.objects.get().url == "https://API.PieSync.TEST:8443/Hook"
    assert dns.asked == [("api.piesync.test", 8443)]


def test_full_width_digits_are_read_as_the_ipv4_address_they_map_to(
    production_mode, dns, site, access_token
):
    full_width_loopback = "\uff11\uff12\uff17.\uff10.\uff10.\uff11"

    response = put_url(site, access_token, f"http://{full_width_loopback}/hook")

    assert response.status_code == 422
    assert response.json()["fields"] == {"url": [PUBLIC_ONLY]}
    assert dns.asked == []
