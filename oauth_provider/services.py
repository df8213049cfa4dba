import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from realgeeks.errors import DomainError
from sites.models import Site
from subscriptions.services import subscription_delete

from .models import AccessToken, Application, Connection, Grant, RefreshToken


@transaction.atomic
def connection_record(*, site: Site, application: Application, user: User) -> Connection:
    connection, _ = Connection.objects.update_or_create(
        site=site, application=application, defaults={"connected_by": user}
    )
    return connection


@transaction.atomic
def token_family_revoke(*, token_family: uuid.UUID | None) -> None:
    RefreshToken.revoke_family(token_family)


@transaction.atomic
def connection_disconnect(*, user: User, connection_id: int) -> None:
    """Disconnect an application from one of the user's sites.

    Revokes its tokens and unused codes there and deletes its subscription, so the site
    stops sending it leads and its client credentials no longer reach the site.
    """
    connection = (
        Connection.objects.select_for_update(of=("self",))
        .filter(pk=connection_id, site__owner=user)
        .select_related("site", "application")
        .first()
    )
    if connection is None:
        raise DomainError("Connection not found", status=404)
    now = timezone.now()
    tokens = {"application": connection.application, "site": connection.site}
    RefreshToken.objects.filter(**tokens, revoked__isnull=True).update(
        revoked=now, updated=now, access_token=None
    )
    AccessToken.objects.filter(**tokens).delete()
    Grant.objects.filter(**tokens, consumed__isnull=True).delete()
    subscription_delete(site=connection.site, application=connection.application)
    connection.delete()
