import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import QuerySet
from django.utils import timezone

from core.db import prepared_cursor
from core.text import is_storable_text
from sites.models import Site

from .health import ConnectedApp, connections_health
from .models import AccessToken, Application, Connection, Grant, RefreshToken


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
    with prepared_cursor() as cursor:
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
    DOT's own lookup), with its access token and site: one statement.

    A concurrent refresh with the same token waits here until the first one commits, then
    finds the token retired. Unlocked, both saw it live: both were issued a pair, or the
    second fell into DOT's grace-period branch, which answers a blank token (a 500).
    Only the refresh token's row is locked: whatever deletes its access token (a revocation,
    a disconnect, clearing expired tokens) writes that row too, so it waits as well.

    Plain SQL, and only the fields a refresh or a revocation reads (the others are
    deferred): building this query with the ORM took a quarter of a refresh's CPU.
    """
    checksum = hashlib.sha256(token.encode()).hexdigest()
    with prepared_cursor() as cursor:
        cursor.execute(_REFRESH_TOKEN_FOR_REFRESH, [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    refresh, access, site = _split(row, _REFRESH_TOKEN_FIELDS)
    refresh_token = RefreshToken.from_db(connection.alias, _REFRESH_TOKEN_FIELDS[0], refresh)
    refresh_token.access_token = (
        None  # its access token was deleted
        if access[0] is None
        else AccessToken.from_db(connection.alias, _REFRESH_TOKEN_FIELDS[1], access)
    )
    refresh_token.site = Site.from_db(connection.alias, _REFRESH_TOKEN_FIELDS[2], site)
    return refresh_token


def grant_for_exchange(*, code: str, application: Application) -> Grant | None:
    """The grant of an authorization code issued to this client, locked until the
    request's transaction ends (so that a code is exchanged at most once), site joined.

    Only the grant's row is locked, not its site's. Plain SQL, as for refresh tokens.
    """
    with prepared_cursor() as cursor:
        cursor.execute(_GRANT_FOR_EXCHANGE, [code, application.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values, site = _split(row, _GRANT_FIELDS)
    grant = Grant.from_db(connection.alias, _GRANT_FIELDS[0], values)
    grant.site = Site.from_db(connection.alias, _GRANT_FIELDS[1], site)
    return grant


_APPLICATION_COLUMNS = [field.attname for field in Application._meta.concrete_fields]
_SITE_COLUMNS = [field.attname for field in Site._meta.concrete_fields]
_CLIENT_WITH_CONNECTED_SITE = f"""
    SELECT {", ".join(f'a."{f.column}"' for f in Application._meta.concrete_fields)},
        {", ".join(f's."{f.column}"' for f in Site._meta.concrete_fields)}
    FROM {Application._meta.db_table} AS a
    LEFT JOIN ({Connection._meta.db_table} AS c
        JOIN {Site._meta.db_table} AS s ON s.id = c.site_id AND s.uuid = %s
    ) ON c.application_id = a.id
    WHERE a.client_id = %s
"""  # noqa: S608 (the models' tables and columns)


def client_with_connected_site(
    *, client_id: str, site_uuid: uuid.UUID | None
) -> tuple[Application, Site | None] | None:
    """The application with this client id, and the site with this uuid if a user
    connected the application to it (and has not disconnected it): one query, the rows
    made into models without the ORM's query compiler (the cost of a request this small).
    """
    # Text PostgreSQL cannot hold (core.text) can only be an unknown client id.
    if not is_storable_text(client_id):
        return None
    with prepared_cursor() as cursor:
        cursor.execute(_CLIENT_WITH_CONNECTED_SITE, [site_uuid, client_id])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_APPLICATION_COLUMNS)
    application = Application.from_db(connection.alias, _APPLICATION_COLUMNS, row[:split])
    if row[split] is None:
        return application, None
    return application, Site.from_db(connection.alias, _SITE_COLUMNS, row[split:])


def application_for_client_id(*, client_id: str) -> Application | None:
    """The client with this id, for its authentication on every request that sends one.

    Plain SQL: the ORM's `get()` cost three times as much CPU to build and read (measured).
    """
    # Text PostgreSQL cannot hold (core.text) can only be an unknown client id.
    if not is_storable_text(client_id):
        return None
    with prepared_cursor() as cursor:
        cursor.execute(_APPLICATION_FOR_CLIENT_ID, [client_id])
        row = cursor.fetchone()
    return None if row is None else Application.from_db(connection.alias, _APPLICATION_COLUMNS, row)


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


_APPLICATION_FOR_CLIENT_ID = """
    SELECT {columns} FROM {table} WHERE client_id = %s
""".format(  # noqa: S608 (names from the model)
    columns=", ".join(field.column for field in Application._meta.concrete_fields),
    table=Application._meta.db_table,
)

# Per model, the fields (attnames, in the model's field order, as Model.from_db takes
# them) that the locked reads above load; the other fields are deferred.
_REFRESH_TOKEN_FIELDS = (
    (
        "id",
        "user_id",
        "application_id",
        "access_token_id",
        "token_family",
        "created",
        "revoked",
        "site_id",
    ),
    ("id", "expires", "scope"),
    ("id", "uuid", "domain"),
)
_REFRESH_TOKEN_FOR_REFRESH = """
    SELECT {refresh}, {access}, {site}
    FROM {refresh_token} AS r
    LEFT JOIN {access_token} AS a ON a.id = r.access_token_id
    JOIN {site_table} AS s ON s.id = r.site_id
    WHERE r.token_checksum = %s
    ORDER BY r.revoked DESC NULLS FIRST
    LIMIT 1
    FOR UPDATE OF r
""".format(  # noqa: S608 (names from the models)
    refresh=", ".join(f"r.{name}" for name in _REFRESH_TOKEN_FIELDS[0]),
    access=", ".join(f"a.{name}" for name in _REFRESH_TOKEN_FIELDS[1]),
    site=", ".join(f"s.{name}" for name in _REFRESH_TOKEN_FIELDS[2]),
    refresh_token=RefreshToken._meta.db_table,
    access_token=AccessToken._meta.db_table,
    site_table=Site._meta.db_table,
)
_GRANT_FIELDS = (
    (
        "id",
        "user_id",
        "application_id",
        "expires",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "site_id",
        "consumed",
        "token_family",
    ),
    ("id", "uuid", "domain"),
)
_GRANT_FOR_EXCHANGE = """
    SELECT {grant}, {site}
    FROM {grant_table} AS g JOIN {site_table} AS s ON s.id = g.site_id
    WHERE g.code = %s AND g.application_id = %s
    FOR UPDATE OF g
""".format(  # noqa: S608 (names from the models)
    grant=", ".join(f"g.{name}" for name in _GRANT_FIELDS[0]),
    site=", ".join(f"s.{name}" for name in _GRANT_FIELDS[1]),
    grant_table=Grant._meta.db_table,
    site_table=Site._meta.db_table,
)


def _split(row: tuple[Any, ...], fields: tuple[tuple[str, ...], ...]) -> list[tuple[Any, ...]]:
    """A row's values, model by model."""
    parts, start = [], 0
    for names in fields:
        parts.append(row[start : start + len(names)])
        start += len(names)
    return parts
