"""django-oauth-toolkit's models, swapped in so that grants and tokens carry a site.

Every grant and token is bound to the one site the user chose on the consent page;
a bearer token can reach only that site.
"""

import ipaddress
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from oauth2_provider import models as dot_models

from core.db import prepared_cursor
from sites.models import Site


def _is_loopback_host(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_redirect_uris(uris: str) -> list[str]:
    """The http redirect URIs that production refuses: any that is not loopback (RFC 8252 §7.3)."""
    return [
        uri
        for uri in uris.split()
        if urlsplit(uri).scheme == "http" and not _is_loopback_host(urlsplit(uri).hostname)
    ]


class Application(dot_models.AbstractApplication):
    class Meta(dot_models.AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    objects = dot_models.ApplicationManager()

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if not settings.LOCAL_MODE and insecure_redirect_uris(self.redirect_uris):
            errors.setdefault("redirect_uris", []).append(
                ValidationError(
                    "http redirect URIs are allowed only on loopback (127.0.0.1 or ::1); use https."
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_allowed_schemes(self) -> list[str]:
        """The setting's schemes (https only outside local mode), plus http for loopback.

        RFC 8252 §7.3 loopback redirect URIs are http; clean() and redirect_uri_allowed()
        refuse http on any other host outside local mode.
        """
        schemes = list(super().get_allowed_schemes())  # type: ignore[no-untyped-call]  # DOT's
        return schemes if "http" in schemes else [*schemes, "http"]

    def redirect_uri_allowed(self, uri: str) -> bool:
        # Refuse at request time too, in case a row was written before the rule applied.
        if not settings.LOCAL_MODE and insecure_redirect_uris(uri):
            return False
        return super().redirect_uri_allowed(uri)


class Grant(dot_models.AbstractGrant):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    # Codes are kept after use, so that a replay can be recognised and the tokens
    # issued from the code revoked (RFC 6749 §4.1.2).
    consumed = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True, editable=False)

    class Meta(dot_models.AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class AccessToken(dot_models.AbstractAccessToken):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")

    class Meta(dot_models.AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"
        indexes = [models.Index(fields=["application", "site"])]


class RefreshToken(dot_models.AbstractRefreshToken):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")

    def revoke(self) -> None:
        """DOT's (retire this token, delete its access token) in one statement.

        DOT's locks the row again, reads the access token, deletes it through the
        collector (whose `UPDATE ... SET access_token_id = NULL` repeats this one) and
        saves every column, in a savepoint: seven statements on every refresh. Here, the
        UPDATE of a live token and the DELETE are one statement, atomic on its own.
        A token already revoked is left alone, with its access token, as DOT's does.
        """
        now = timezone.now()
        with prepared_cursor() as cursor:
            cursor.execute(
                _REVOKE.format(
                    refresh_token=self._meta.db_table, access_token=AccessToken._meta.db_table
                ),
                {"now": now, "id": self.pk, "access_token_id": self.access_token_id},
            )
        self.revoked, self.updated, self.access_token = now, now, None

    @classmethod
    def revoke_family(cls, token_family: uuid.UUID | None) -> None:
        """DOT's, once the family's live tokens are locked (RFC 9700 §4.14.2, RFC 6749 §4.1.2).

        A refresh in flight holds its token's lock; waiting for it to commit lets DOT's
        update, a later statement, see the token it issued and revoke that one too.
        """
        if not token_family:
            return  # as DOT's: a token without a family has nothing to revoke with it
        with transaction.atomic():
            live = cls.objects.filter(token_family=token_family, revoked__isnull=True)
            list(live.select_for_update().order_by("pk").values_list("pk", flat=True))
            super().revoke_family(token_family)

    class Meta(dot_models.AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"
        indexes = [
            *dot_models.AbstractRefreshToken.Meta.indexes,
            models.Index(fields=["application", "site"]),
        ]


# The DELETE runs only if the UPDATE found the token live. The access token is the one
# the row pointed to: a live token's only ever changes to NULL (when its access token is
# deleted), so a stale instance names one already gone at worst. The DELETE needs none of
# Django's collector: the one row that points to an access token (its refresh token, one
# to one) is the one the UPDATE clears.
_REVOKE = """
    WITH revoked AS (
        UPDATE {refresh_token} SET revoked = %(now)s, updated = %(now)s, access_token_id = NULL
        WHERE id = %(id)s AND revoked IS NULL
        RETURNING id
    )
    DELETE FROM {access_token}
    WHERE id = %(access_token_id)s AND EXISTS (SELECT FROM revoked)
"""


class IDToken(dot_models.AbstractIDToken):
    """Unused (no OpenID Connect), swapped in with the others so that it never has to be."""

    class Meta(dot_models.AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"


class Connection(models.Model):
    """An application a user connected to one of their sites, until they disconnect it.

    It is what makes the application's client credentials valid for the site.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="connections")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="connections"
    )
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "application"], name="connection_one_per_site_application"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} on {self.site}"
