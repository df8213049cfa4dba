"""Time-ordered ids (core.ids): UUIDv7 as RFC 9562 §5.7 lays them out, from Python and
from PostgreSQL alike."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from core.ids import UUID7_SQL, uuid7, uuid7_time

AT = datetime(2026, 12, 3, 11, 45, 30, 123_000, tzinfo=UTC)


def time_of(value: uuid.UUID) -> datetime:
    return datetime.fromtimestamp(int.from_bytes(value.bytes[:6], "big") / 1000, UTC)


def test_an_id_is_version_7_of_the_rfc_variant():
    value = uuid7(AT)

    assert (value.version, value.variant) == (7, uuid.RFC_4122)


def test_an_id_starts_with_its_time_in_milliseconds():
    assert time_of(uuid7(AT)) == AT


def test_ids_of_later_milliseconds_sort_later():
    ids = [uuid7(AT + timedelta(milliseconds=n)) for n in range(50)]

    assert sorted(ids) == ids


def test_ids_of_one_millisecond_differ():
    assert len({uuid7(AT) for _ in range(1000)}) == 1000


@pytest.mark.django_db
def test_postgresql_makes_the_same_layout_one_id_a_row():
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {UUID7_SQL.format(time='%s')} FROM generate_series(1, 100)",  # noqa: S608
            [uuid7_time(AT)],
        )
        ids = [value for (value,) in cursor.fetchall()]

    assert len(set(ids)) == 100
    assert {(value.version, value.variant, time_of(value)) for value in ids} == {
        (7, uuid.RFC_4122, AT)
    }
