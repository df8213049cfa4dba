"""What the token endpoint stores: django-oauth-toolkit's `save_bearer_token`, for the
grants served here (authorization code, refresh token with rotation).

It takes from the oauthlib request what `SiteOAuth2Validator` validated: `site` and
`user_id`, `grant` on a code exchange, `refresh_token_instance` on a refresh (locked).
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request

from . import services
from .models import AccessToken, RefreshToken


class TokenStorageValidator(OAuth2Validator):
    def save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """DOT's, and the connection a code exchange makes, in the token view's transaction
        (DOT's adds a savepoint; nothing here needs one)."""
        with transaction.atomic(savepoint=False):
            self._save_bearer_token(token, request, *args, **kwargs)
            if request.grant_type == "authorization_code":
                services.connection_record(
                    site=request.site, application=request.client, user_id=request.user_id
                )
        # oauthlib builds the JSON response from this same dict after saving it.
        token["site_uuid"] = str(request.site.uuid)
        token["site_domain"] = request.site.domain

    def _save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """DOT's, for what is served here: a new pair, and on a refresh the presented token
        retired (RFC 6749 §6; RefreshToken.revoke: one statement).

        Overridden: DOT's locks the presented token again (validate_refresh_token holds
        it), then the access token issued from it, for its grace period (none here).
        """
        self._check_and_set_request_resource(request)
        expires = timezone.now() + timedelta(
            seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        )
        # Set by validate_refresh_token on a refresh; for vars(), see
        # SiteOAuth2Validator.authenticate_client.
        previous: RefreshToken | None = vars(request).get("refresh_token_instance")
        if previous is not None:
            previous.revoke()
        access_token = self._create_access_token(
            expires, request, token, source_refresh_token=previous
        )
        self._create_refresh_token(request, token["refresh_token"], access_token, previous)
        # For the app_authorized signal, which DOT's view sends with the token it re-reads.
        request.issued_access_token = access_token

    def _check_and_set_request_resource(self, request: Request) -> None:
        """DOT's RFC 8707 checks, less its re-read of the grant: a malformed `resource` is
        refused (invalid_target). No grant or token here keeps one, so DOT's narrowing to
        the grant's or the refresh token's resources never finds any to narrow to."""
        resource = getattr(request, "resource", None)
        # oauthlib keeps the last of repeated parameters; RFC 8707 §2 allows several.
        repeated = [value for key, value in request.decoded_body or [] if key == "resource"]
        if isinstance(resource, str) and len(repeated) > 1:
            resource = repeated
        elif isinstance(resource, str):
            resource = [resource] if resource.strip() else []
        request.resource = resource if isinstance(resource, list) else []
        self._validate_resource_uris(request, request.resource)  # type: ignore[no-untyped-call]  # DOT's

    def _create_access_token(
        self,
        expires: datetime,
        request: Request,
        token: dict[str, Any],
        source_refresh_token: RefreshToken | None = None,
    ) -> AccessToken:
        access_token = AccessToken(
            user_id=request.user_id,
            site=request.site,
            scope=token["scope"],
            expires=expires,
            application=request.client,
            source_refresh_token=source_refresh_token,
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(
        self,
        request: Request,
        refresh_token_code: str,
        access_token: AccessToken,
        previous_refresh_token: RefreshToken | None,
    ) -> RefreshToken:
        token_family = (
            previous_refresh_token.token_family if previous_refresh_token else uuid.uuid4()
        )
        refresh_token = RefreshToken(
            user_id=request.user_id,
            site=request.site,
            application=request.client,
            access_token=access_token,
            token_family=token_family,
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        request.issued_token_family = token_family
        return refresh_token
