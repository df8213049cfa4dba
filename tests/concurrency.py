"""Races against a live server: requests sent from real threads, released together, in
rounds bounded in time."""

import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

WAIT = 30  # seconds for a thread to reach the barrier, and for an answer
# The live server's listen backlog (Django's WSGIServer.request_queue_size): more
# connections opened at once overflow it and are reset.
AT_ONCE = 10
ROUNDS = 20
SECONDS = 20  # the time bound of a test's rounds
# Loaded once: a client that loads the CA bundle itself takes a tenth of a second.
_TLS = ssl.create_default_context()


def send_at_once(requests: list[httpx.Request]) -> list[httpx.Response]:
    """Each request from its own thread and connection, all released at once; the answers
    in the order of `requests`."""
    assert len(requests) <= AT_ONCE
    barrier = threading.Barrier(len(requests))

    def send(request: httpx.Request) -> httpx.Response:
        with httpx.Client(timeout=WAIT, verify=_TLS) as client:
            barrier.wait(timeout=WAIT)
            response = client.send(request)
            response.read()
            return response

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def rounds(count: int = ROUNDS, *, seconds: float = SECONDS) -> Iterator[int]:
    """Round numbers up to `count`, fewer if `seconds` run out first (one always runs)."""
    deadline = time.monotonic() + seconds
    for number in range(count):
        if number and time.monotonic() > deadline:
            return
        yield number
