import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import F, QuerySet
from django.utils import timezone

from core.text import is_storable_text
from sites.models import Site

from .health import ConnectedApp, connections_health
from .models import AccessToken, Application, Connection, RefreshToken


@dataclasses.dataclass(frozen=True, slots=True)
class BearerToken:
    """An access token as the partner APIs read it (`request.auth`): its row's few
    columns and its site, not an AccessToken and three related instances."""

    pk: int
    user_id: int | None
    application_id: int | None  # every token we issue has one; DOT's column is nullable
    scope: str
    expires: datetime
    site: Site

    def is_expired(self) -> bool:
        return timezone.now() >= self.expires  # as AccessToken.is_expired()

    def allows(self, scope: str) -> bool:
        return scope in self.scope.split()


BearerTokenT = TypeVar("BearerTokenT", bound=BearerToken)

# A bearer token's columns and tables, also for the statements that read it with
# something else in the same round trip (subscriptions.selectors), whose own columns
# follow these. Plain SQL: compiling the ORM's four-table join, and building its four
# instances, took half a subscription GET's CPU (measured).
BEARER_COLUMNS = """
    t.id, t.user_id, t.application_id, t.scope, t.expires,
    s.id, s.uuid, s.domain, s.name, s.owner_id, s.created, s.updated"""
BEARER_WIDTH = 12
BEARER_TABLES = """
    oauth_provider_accesstoken AS t JOIN customer_sites_site AS s ON s.id = t.site_id"""
_SITE_FIELDS = ("id", "uuid", "domain", "name", "owner_id", "created", "updated")
_BEARER_TOKEN = f"""
    SELECT {BEARER_COLUMNS} FROM {BEARER_TABLES} WHERE t.token_checksum = %s"""  # noqa: S608 (constants)


def token_checksum(token: str) -> str:
    """How DOT stores a token: its SHA-256 (AccessToken.token_checksum, unique)."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token_from_row(
    row: Sequence[Any], *, kind: type[BearerTokenT], **more: Any
) -> BearerTokenT:
    """A BearerToken (or subclass, given its `more` fields) from a row that starts with
    BEARER_COLUMNS."""
    pk, user_id, application_id, scope, expires = row[:5]
    site = Site.from_db(DEFAULT_DB_ALIAS, _SITE_FIELDS, row[5:BEARER_WIDTH])
    return kind(
        pk=pk,
        user_id=user_id,
        application_id=application_id,
        scope=scope,
        expires=expires,
        site=site,
        **more,
    )


def bearer_token(*, token: str) -> BearerToken | None:
    """The presented bearer token, with its site: one indexed query; None if unknown
    (never issued, or revoked: DOT deletes a revoked access token)."""
    with connection.cursor() as cursor:
        cursor.execute(_BEARER_TOKEN, [token_checksum(token)])
        row = cursor.fetchone()
    return None if row is None else bearer_token_from_row(row, kind=BearerToken)


def access_token_for_bearer(*, token: str) -> AccessToken | None:
    """The token row for a presented bearer token: one indexed query, site joined.

    Hot paths look rows up with `get()`, not `first()`: on a unique key both find the
    same row, and the ORDER BY that `first()` adds took 40% of a subscription GET's CPU
    to build (measured).
    """
    checksum = hashlib.sha256(token.encode()).hexdigest()
    try:
        return AccessToken.objects.select_related("site", "application", "user").get(
            token_checksum=checksum
        )
    except AccessToken.DoesNotExist:
        return None


def refresh_token_for_refresh(*, token: str) -> RefreshToken | None:
    """The row for a presented refresh token, locked until the request's transaction ends:
    the live one if any, else the last revoked (several rows may share a checksum, as in
    DOT's own lookup).

    A concurrent refresh with the same token waits here until the first one commits, then
    finds the token retired. Unlocked, both saw it live: both were issued a pair, or the
    second fell into DOT's grace-period branch, which answers a blank token (a 500).
    """
    checksum = hashlib.sha256(token.encode()).hexdigest()
    return (
        RefreshToken.objects.select_for_update(of=("self",))
        .filter(token_checksum=checksum)
        .order_by(F("revoked").desc(nulls_first=True))
        .first()
    )


def application_for_client_id(*, client_id: str) -> Application | None:
    # Text PostgreSQL cannot hold (core.text) can only be an unknown client id.
    if not is_storable_text(client_id):
        return None
    try:
        application: Application = Application.objects.get(client_id=client_id)
    except Application.DoesNotExist:
        return None
    return application


def connections_of_user(*, user: User) -> QuerySet[Connection]:
    return (
        Connection.objects.filter(site__owner=user)
        .select_related("site", "application")
        .order_by("site__domain", "application__name")
    )


def connected_apps_of_user(*, user: User) -> list[ConnectedApp]:
    """The user's connections with whether leads flow to each: a fixed number of queries,
    whatever the number of connections."""
    connections = list(connections_of_user(user=user))
    health = connections_health(connections)
    return [ConnectedApp(connection, health.get(connection.pk)) for connection in connections]


def connection_of_user(*, user: User, connection_id: int) -> Connection | None:
    return (
        Connection.objects.filter(pk=connection_id, site__owner=user)
        .select_related("site", "application")
        .first()
    )


def connected_site(*, application: Application, site_uuid: uuid.UUID) -> Site | None:
    """The site, if a user connected this application to it and has not disconnected it."""
    try:
        connection = Connection.objects.select_related("site").get(
            application=application, site__uuid=site_uuid
        )
    except Connection.DoesNotExist:
        return None
    return connection.site
