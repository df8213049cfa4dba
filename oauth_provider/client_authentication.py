"""HTTP Basic with an OAuth client's id and secret, for the Incoming Leads API.

This is how Real Geeks' product credentials work: one username and password per
integrating product, valid for every site a user has connected it to. Which sites
those are is the views' business (`oauth_provider.selectors.connected_site`).
"""

import base64
import binascii

from django.contrib.auth.hashers import check_password
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from ratelimits.limits import client_authentication_failed, client_authentication_retry_after

from .authentication import REALM, InvalidToken
from .models import Application
from .selectors import application_for_client_id


class ClientCredentialsAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[None, Application] | None:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        # Failed client authentications are limited per address, as on the OAuth endpoints.
        retry_after = client_authentication_retry_after(request=request._request)
        if retry_after is not None:
            raise Throttled(wait=retry_after)
        try:
            client_id, _, secret = (
                base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            client_authentication_failed(request=request._request)
            raise InvalidToken("Malformed Basic credentials") from None
        application = application_for_client_id(client_id=client_id)
        # check_password compares in constant time.
        if application is None or not check_password(secret, application.client_secret):
            client_authentication_failed(request=request._request)
            raise InvalidToken("Invalid client credentials")
        return None, application

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}"'
