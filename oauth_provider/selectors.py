import hashlib

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import AccessToken, Connection


def access_token_for_bearer(*, token: str) -> AccessToken | None:
    """The token row for a presented bearer token: one indexed query, site joined."""
    checksum = hashlib.sha256(token.encode()).hexdigest()
    return (
        AccessToken.objects.select_related("site", "application", "user")
        .filter(token_checksum=checksum)
        .first()
    )


def connections_of_user(*, user: AbstractBaseUser) -> QuerySet[Connection]:
    return (
        Connection.objects.filter(site__owner=user)
        .select_related("site", "application")
        .order_by("site__domain", "application__name")
    )
