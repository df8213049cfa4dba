"""The signed request (leads/delivery/http.py). Requests are sent to a real receiver in
test_attempt.py; the signature against the published vector is in
tests/leads/test_signature.py."""

import hashlib
import hmac
import re

from leads.delivery.http import signed_headers

RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def test_the_headers_sign_the_exact_body_and_name_the_action_and_the_message():
    body = b'{"id": "5b7b6a4e"}'

    headers = signed_headers(body, secret="seekrit", action="created", message_id="ab" * 16)

    timestamp = headers.pop("X-Lead-Router-Timestamp")
    assert RFC3339_UTC.fullmatch(timestamp)
    assert headers == {
        "Content-Type": "application/json",
        "X-Lead-Router-Action": "created",
        "X-Lead-Router-Signature": hmac.new(b"seekrit", body, hashlib.sha256).hexdigest(),
        "X-Lead-Router-Message-Id": "ab" * 16,
    }
