"""The signature of reference §1.3 against the published vector of reference §5.

The vector (RG's `lead_router_receiver` spec fixtures, secret `seekrit`) is copied byte
for byte into `vectors/` beside this file: the repository carries every file its tests read.
"""

import hashlib
import hmac
from pathlib import Path

from leads.delivery.http import sign

VECTORS = Path(__file__).resolve().parent / "vectors"
SECRET = "seekrit"


def vector_body() -> bytes:
    """The fixture's bytes without its one trailing newline, as the receiver spec posts it."""
    raw = (VECTORS / "new_lead.json").read_bytes()
    assert raw.endswith(b"}\n") and not raw.endswith(b"\n\n")
    return raw[:-1]


def expected_signature() -> str:
    return (VECTORS / "new_lead.signature").read_text().strip()


def test_sign_reproduces_the_published_vector():
    body = vector_body()
    assert len(body) == 970

    assert sign(body, SECRET) == expected_signature()
    assert (
        expected_signature() == "2c7f249af030ec39c0374c3493cfd305c89a5da3d71e0ecf84d5d60c41a618ab"
    )


def test_sign_is_lowercase_hex_of_64_characters_without_prefix():
    signature = sign(vector_body(), SECRET)

    assert len(signature) == 64
    assert signature == signature.lower()
    int(signature, 16)


def test_sign_covers_every_byte_of_the_body():
    """The trailing newline is part of what is signed: with it the vector does not match."""
    body = vector_body()

    assert sign(body + b"\n", SECRET) != expected_signature()
    assert (
        sign(body + b"\n", SECRET)
        == "f6881321a7aaa20777e057ebc9ef8586178ae92c6559ee85dd0a77fa6b8ce751"
    )


def test_sign_agrees_with_an_independent_hmac_for_a_non_ascii_secret():
    body = '{"first_name":"Jos\u00e9"}'.encode()
    secret = "s\u00e9cr\u00eat-\u2603"

    assert sign(body, secret) == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
