"""The bench's second gunicorn resolves its one public host name through a stub, and
every other name as production does."""

import socket

import pytest

from bench.config import PUBLIC_HOOK_ADDRESS, PUBLIC_HOOK_HOST, PUBLIC_HOOK_URL
from bench.gunicorn_dns_stub import post_worker_init, stub_lookup
from subscriptions import url_policy


@pytest.fixture
def resolver(monkeypatch):
    """The system resolver, answering 198.51.100.7 for any name, and what it was asked."""
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append((host, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("198.51.100.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_the_public_host_gets_the_stubs_address_without_asking_dns(resolver):
    assert stub_lookup(PUBLIC_HOOK_HOST, 443) == [PUBLIC_HOOK_ADDRESS]
    assert resolver == []


def test_any_other_name_goes_to_the_real_lookup(resolver):
    assert stub_lookup("hooks.partner.example", 443) == ["198.51.100.7"]
    assert resolver == [("hooks.partner.example", 443)]


def test_the_public_url_passes_production_checks_once_the_hook_has_run(
    monkeypatch, production_mode, resolver
):
    monkeypatch.setattr(url_policy, "lookup", url_policy.lookup)  # restored afterwards

    post_worker_init(worker=None)

    assert url_policy.lookup is stub_lookup
    url_policy.check_webhook_url(PUBLIC_HOOK_URL)  # public: no UnsafeURL
    with pytest.raises(url_policy.UnsafeURL, match="public internet address"):
        url_policy.check_webhook_url("https://hooks.partner.example/")  # 198.51.100.7
    assert resolver == [("hooks.partner.example", 443)]
