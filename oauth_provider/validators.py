"""The oauthlib request validator: django-oauth-toolkit's, plus the site binding.

The site enters once, from the consent form (`request.site`, set by
`SiteAuthorizationView`), is stored on the grant, and from there is copied onto every
access and refresh token, including those minted by a refresh (`token_storage`).
"""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from oauth2_provider.models import refresh_token_expire_timedelta
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors

from core.text import is_storable_text

from . import selectors, services
from .models import AccessToken, Application, Grant
from .token_storage import TokenStorageValidator

UNKNOWN_CODE = "Unknown authorization code, or issued to another client."


class SiteOAuth2Validator(TokenStorageValidator):
    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        """Required for public clients only, and honoured whenever a confidential client
        sends it: RFC 9700 §2.1.1 allows confidential clients without PKCE.

        The client is the one already loaded (by client authentication at the token
        endpoint, by `validate_client_id` at the authorization endpoint): no query.
        """
        client = self._load_application(client_id, request)
        return client is not None and client.client_type == Application.CLIENT_PUBLIC

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        """DOT's, once per request: the token view authenticates the client before its rate
        limit (`views.tokens.authenticated_client`) and gives oauthlib the same request.

        Only what this method stored counts, read with `vars()`: oauthlib's request
        answers any body parameter as an attribute, but never as an Application.
        """
        authenticated = vars(request).get("authenticated_client")
        if isinstance(authenticated, Application) and authenticated is request.client:
            return True
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        request.authenticated_client = request.client
        return True

    def _load_application(self, client_id: str, request: Request) -> Application | None:
        # Text PostgreSQL cannot hold (core.text): for a NUL psycopg 3 raises DataError,
        # not the ValueError DOT catches, so the query would be a 500. No client id has one.
        if client_id and not is_storable_text(client_id):
            return None
        if client_id and not isinstance(request.client, Application):
            # DOT's query, cheaper to build (selectors.application_for_client_id). DOT takes
            # the request's client as cached, once it checked it is the one named and usable.
            request.client = selectors.application_for_client_id(client_id=client_id)
        return super()._load_application(client_id, request)

    def _create_authorization_code(
        self, request: Request, code: dict[str, str], expires: datetime | None = None
    ) -> Grant:
        # "plain" PKCE never gets here: oauth_provider.server refuses it at authorize.
        lifetime = timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS)
        return Grant.objects.create(
            application=request.client,
            user=request.user,
            site=request.site,
            code=code["code"],
            expires=expires or timezone.now() + lifetime,
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
        )

    def validate_code(
        self,
        client_id: str,
        code: str,
        client: Application,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if not is_storable_text(code):  # see _load_application
            raise errors.InvalidGrantError(description=UNKNOWN_CODE, request=request)
        # Locked, so that two concurrent exchanges of one code cannot both succeed;
        # the token view runs in a transaction.
        grant = selectors.grant_for_exchange(code=code, application=client)
        if grant is None:
            raise errors.InvalidGrantError(description=UNKNOWN_CODE, request=request)
        if grant.consumed is not None:
            # RFC 6749 §4.1.2: a code used twice SHOULD revoke the tokens issued from it.
            services.token_family_revoke(token_family=grant.token_family)
            raise errors.InvalidGrantError(
                description="The authorization code was already used; the tokens issued "
                "from it are revoked.",
                request=request,
            )
        if grant.is_expired():
            raise errors.InvalidGrantError(
                description="The authorization code expired.", request=request
            )
        request.scopes = grant.scope.split(" ")
        request.user_id = grant.user_id  # DOT sets the user: only its id is needed
        request.site = grant.site
        request.grant = grant
        return True

    def get_code_challenge(self, code: str, request: Request) -> str | None:
        grant: Grant = request.grant  # loaded and locked by validate_code
        if not grant.code_challenge and request.code_verifier is not None:
            # RFC 9700 §2.1.1: a code_verifier is accepted only if the authorization
            # request had a code_challenge (PKCE downgrade attack).
            raise errors.InvalidGrantError(
                description="code_verifier sent, but the authorization request had no "
                "code_challenge.",
                request=request,
            )
        return grant.code_challenge or None

    def get_code_challenge_method(self, code: str, request: Request) -> str | None:
        return request.grant.code_challenge_method or None

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Application,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        # RFC 6749 §4.1.3: REQUIRED if the authorization request had one. Every code is
        # issued for one (the consent form carries the registered URI when the request
        # named none), and the contract's token request always sends it, so it is always
        # required; oauthlib would fill in the registered one.
        if request.using_default_redirect_uri:
            raise errors.InvalidRequestError(
                description="Missing redirect_uri parameter: send the one of the "
                "authorization request.",
                request=request,
            )
        # RFC 6749 §5.2: a grant that "does not match the redirection URI used in the
        # authorization request" is invalid_grant (oauthlib would say invalid_request).
        if request.grant.redirect_uri_allowed(redirect_uri):
            return True
        raise errors.InvalidGrantError(
            description="redirect_uri does not match the one in the authorization request.",
            request=request,
        )

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Mark the code used (instead of deleting it) and remember the tokens it produced."""
        grant: Grant = request.grant
        grant.consumed = timezone.now()
        grant.token_family = getattr(request, "issued_token_family", None)
        grant.save(update_fields=["consumed", "token_family", "updated"])

    def validate_refresh_token(
        self, refresh_token: str, client: Application, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        """DOT's checks, on one locked read of the token joined to its access token and
        site, plus the lifetime from issue; a refusal says why (oauthlib's invalid_grant
        has no description).

        Overridden whole: DOT's reads the token again, then its user and application
        through lazy foreign keys (and the site would be a fourth query). The row is
        locked first, so concurrent refreshes with one token run one after another: the
        first rotates it, and each of the others is a reuse (RFC 9700 §4.14.2).
        """
        presented = selectors.refresh_token_for_refresh(token=refresh_token)
        if presented is None:
            raise errors.InvalidGrantError(description="Unknown refresh token.", request=request)
        if presented.revoked is not None:
            # RFC 9700 §4.14.2 (DOT's REFRESH_TOKEN_REUSE_PROTECTION): a retired token used
            # again revokes its whole family. DOT's grace period, which would answer a
            # retry with the pair already issued, cannot apply: tokens are stored hashed.
            if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
                services.token_family_revoke(token_family=presented.token_family)
            raise errors.InvalidGrantError(
                description="The refresh token was already used or was revoked; every token "
                "issued from it is revoked.",
                request=request,
            )
        if presented.application_id != client.pk:
            # RFC 6749 §6: a refresh token is bound to the client it was issued to.
            raise errors.InvalidGrantError(
                description="The refresh token was issued to another client.", request=request
            )
        # DOT's expiry: REFRESH_TOKEN_EXPIRE_SECONDS after its access token expires, so
        # a token whose access token was deleted is dead. Here also that long after issue.
        lifetime = refresh_token_expire_timedelta()
        now = timezone.now()
        access_token = presented.access_token
        if access_token is None or (lifetime and access_token.expires + lifetime <= now):
            raise errors.InvalidGrantError(
                description="The refresh token expired or its access was revoked.",
                request=request,
            )
        if lifetime and presented.created + lifetime <= now:
            raise errors.InvalidGrantError(
                description="The refresh token expired.", request=request
            )
        request.user_id = presented.user_id  # DOT sets the user: only its id is needed
        request.site = presented.site
        # For get_original_scopes (DOT's: the access token's scope) and the rotation.
        request.refresh_token_instance = presented
        return True

    def revoke_token(
        self,
        token: str,
        token_type_hint: str | None,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """RFC 7009 §2.1: revoking a refresh token SHOULD invalidate every access token of
        the same grant; here, its whole family, also what was refreshed from it since.

        The row is locked first, as a refresh locks it: a refresh with it in flight
        finishes, and the family it extended is then revoked whole.
        """
        refresh_token = selectors.refresh_token_for_refresh(token=token)
        if (
            refresh_token is None
            or refresh_token.application_id != request.client.pk
            or refresh_token.token_family is None
        ):
            # An access token, another client's token (which DOT leaves alone), or a
            # refresh token outside any family (which DOT revokes alone).
            super().revoke_token(token, token_type_hint, request, *args, **kwargs)
            return
        services.token_family_revoke(token_family=refresh_token.token_family)

    def _load_access_token(self, token: str) -> AccessToken | None:
        """One indexed query, with the site joined, for every authenticated API request."""
        return selectors.access_token_for_bearer(token=token)
