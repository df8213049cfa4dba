"""The oauthlib server behind django-oauth-toolkit's views (OAUTH2_PROVIDER["OAUTH2_SERVER_CLASS"]).

oauthlib's default `Server` wires up every grant type (implicit, password, client
credentials, device code) and PKCE "plain". We serve only what the metadata advertises:
the authorization code grant with refresh tokens, and PKCE with S256.
"""

import base64
import hashlib
import re
from typing import Any

from django.utils.crypto import constant_time_compare
from oauthlib.common import Request
from oauthlib.oauth2 import RequestValidator, WebApplicationServer
from oauthlib.oauth2.rfc6749 import errors

# RFC 7636 §4.2: code-challenge = 43*128unreserved
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def code_challenge_method_s256(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge.

    A mismatch raises rather than returning False: oauthlib would answer invalid_grant
    without saying why.
    """
    digest = hashlib.sha256(verifier.encode()).digest()
    if not constant_time_compare(base64.urlsafe_b64encode(digest).decode().rstrip("="), challenge):
        raise errors.InvalidGrantError(
            description="code_verifier does not match the code_challenge of the "
            "authorization request."
        )
    return True


def validate_code_challenge(request: Request) -> dict[str, Any]:
    """Refuse a malformed code_challenge at the authorization endpoint (RFC 7636 §4.4.1)."""
    if request.code_challenge is not None and not CODE_CHALLENGE.fullmatch(request.code_challenge):
        raise errors.InvalidRequestError(
            description="code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].",
            request=request,
        )
    return {}


class Server(WebApplicationServer):  # type: ignore[misc]  # oauthlib has no type information
    """Authorization code and refresh token grants only (RFC 9700 §2.1.2, §2.4)."""

    def __init__(self, request_validator: RequestValidator, **kwargs: Any) -> None:
        super().__init__(request_validator, **kwargs)
        # RFC 9700 §2.1.1 / RFC 7636 §4.4.1: S256 only. A challenge sent with "plain" (or
        # with no method, which RFC 7636 §4.3 defaults to "plain") is refused with
        # invalid_request before the consent page is shown. Set on the instance: the
        # class attribute is shared by every oauthlib server in the process.
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
        self.auth_grant.custom_validators.post_auth.append(validate_code_challenge)
