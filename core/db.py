"""Prepared statements for the hot paths' hand-written SQL (docs/speed.md).

PostgreSQL spends more CPU planning these statements than running them; prepared once
per pooled connection, each is planned once. Only cursors from `prepared_cursor` prepare:
Django's own bind parameters client-side, which psycopg never prepares, so no ORM query
gets a generic plan it was not written for. A statement sent here must be one whose
generic plan is as good as any (a lookup by key, not by a skewed value).
"""

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


def prepared_cursor() -> CursorWrapper:
    """A cursor of the default connection whose statements psycopg prepares on their
    first run on that connection (settings' `prepare_threshold` of 0) and reuses after.

    As `connection.cursor()` makes one, with server-side binding: the parameters travel
    apart from the statement, which is what lets PostgreSQL keep its plan.
    """
    database = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` looks it up
    database.close_if_health_check_failed()
    database.ensure_connection()
    database.validate_thread_sharing()
    with database.wrap_database_errors:
        cursor = psycopg.Cursor(database.connection)
    if database.queries_logged:  # DEBUG, or a test counting queries
        return CursorDebugWrapper(cursor, database)
    return CursorWrapper(cursor, database)
