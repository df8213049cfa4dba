"""The client's address behind the TLS-terminating proxy (core.client_ip)."""

import pytest
from django.test import RequestFactory

from core.client_ip import client_ip


def request_from(remote_addr: str, **headers: str):
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


@pytest.fixture
def behind_one_proxy(knobs):
    knobs.TRUSTED_PROXY_COUNT = 1
    knobs.CLIENT_IP_HEADER = "X-Forwarded-For"
    return knobs


def test_without_a_proxy_the_peer_address_is_the_client(knobs):
    knobs.TRUSTED_PROXY_COUNT = 0

    request = request_from("203.0.113.7", x_forwarded_for="198.51.100.1")

    assert client_ip(request) == "203.0.113.7"


def test_behind_one_proxy_the_address_it_appended_is_the_client(behind_one_proxy):
    request = request_from("10.0.0.2", x_forwarded_for="198.51.100.1")

    assert client_ip(request) == "198.51.100.1"


def test_addresses_the_client_forged_to_the_left_are_ignored(behind_one_proxy):
    request = request_from("10.0.0.2", x_forwarded_for="1.1.1.1, 2.2.2.2,198.51.100.1")

    assert client_ip(request) == "198.51.100.1"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(knobs):
    knobs.TRUSTED_PROXY_COUNT = 2

    request = request_from("10.0.0.3", x_forwarded_for="1.1.1.1, 198.51.100.1, 10.0.0.2")

    assert client_ip(request) == "198.51.100.1"


def test_the_header_is_configurable(behind_one_proxy):
    behind_one_proxy.CLIENT_IP_HEADER = "X-Real-IP"

    request = request_from("10.0.0.2", x_real_ip="198.51.100.9", x_forwarded_for="1.1.1.1")

    assert client_ip(request) == "198.51.100.9"


def test_a_request_that_bypassed_the_proxy_is_the_peer_address(behind_one_proxy):
    assert client_ip(request_from("203.0.113.7")) == "203.0.113.7"


def test_a_malformed_forwarded_address_falls_back_to_the_peer_address(behind_one_proxy):
    request = request_from("10.0.0.2", x_forwarded_for="198.51.100.1, not-an-address")

    assert client_ip(request) == "10.0.0.2"


def test_an_ipv6_client_is_its_64_network(behind_one_proxy):
    request = request_from("10.0.0.2", x_forwarded_for="2001:db8:1:2:aaaa:bbbb:cccc:dddd")

    assert client_ip(request) == "2001:db8:1:2::"


def test_an_ipv4_mapped_ipv6_peer_is_its_ipv4_address(knobs):
    knobs.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request_from("::ffff:203.0.113.7")) == "203.0.113.7"


def test_no_address_at_all_is_none(knobs):
    knobs.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request_from("")) is None
