import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.errors import NotFound
from sites.models import Site

from .models import AccessToken, Application, Connection, Grant, RefreshToken
from .signals import connection_disconnecting


@transaction.atomic(savepoint=False)
def connection_record(*, site: Site, application: Application, user_id: int) -> None:
    """Connect the application to the site, or record who connected it again.

    One upsert (`update_or_create` is a locked read, then an insert or update, in two
    savepoints); atomic on its own, so no savepoint in the token endpoint's transaction.
    """
    Connection.objects.bulk_create(
        [Connection(site=site, application=application, connected_by_id=user_id)],
        update_conflicts=True,
        unique_fields=["site", "application"],
        update_fields=["connected_by", "updated"],
    )


@transaction.atomic
def token_family_revoke(*, token_family: uuid.UUID | None) -> None:
    RefreshToken.revoke_family(token_family)


@transaction.atomic
def connection_disconnect(*, user: User, connection_id: int) -> None:
    """Disconnect an application from one of the user's sites.

    Revokes its tokens and unused codes there and deletes its subscription, so the site
    stops sending it leads and its client credentials no longer reach the site.

    Locks are taken in the token endpoint's order, so that a code exchange or a refresh
    in flight finishes first (and what it issued is revoked here) instead of deadlocking
    with this: the unused codes (an exchange locks its code, then the connection), then
    the connection, then the live refresh tokens (a refresh locks its token).
    """
    connection = (
        Connection.objects.filter(pk=connection_id, site__owner=user)
        .select_related("site", "application")
        .first()
    )
    if connection is None:
        raise NotFound("Connection not found")
    tokens = {"application": connection.application, "site": connection.site}
    Grant.objects.filter(**tokens, consumed__isnull=True).delete()
    if Connection.objects.select_for_update().filter(pk=connection.pk).first() is None:
        raise NotFound("Connection not found")  # a concurrent disconnect
    live = RefreshToken.objects.filter(**tokens, revoked__isnull=True)
    # Waits for the refreshes in flight to commit; the update, a later statement, then
    # sees the refresh tokens they issued too.
    list(live.select_for_update().order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    live.update(revoked=now, updated=now, access_token=None)
    AccessToken.objects.filter(**tokens).delete()
    connection_disconnecting.send(
        sender=Connection, site=connection.site, application=connection.application
    )
    connection.delete()
