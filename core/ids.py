"""Time-ordered ids (UUIDv7, RFC 9562 §5.7) for rows written in time order.

A random id (UUIDv4) lands on a random page of its index, and once the index outgrows
PostgreSQL's buffers each new row reads and dirties a page there; a UUIDv7 starts with
its time, so new rows land together at the index's end (docs/speed.md).
"""

import os
import uuid
from datetime import datetime

from django.utils import timezone

_VERSION = 0x7 << 76  # RFC 9562 §5.7: bits 48-51
_VERSION_MASK = 0xF << 76
_VARIANT = 0x2 << 62  # RFC 9562 §4.1: bits 64-65, 0b10
_VARIANT_MASK = 0x3 << 62

# A UUIDv7 made by PostgreSQL, one per row it is evaluated for: the time (uuid7_time, a
# parameter) in front of gen_random_uuid()'s random bits, whose variant is already
# RFC 9562's, and the version's nibble set (byte 6: 0x7 and four random bits).
UUID7_SQL = (
    "encode(set_byte(overlay(uuid_send(gen_random_uuid()) PLACING {time} FROM 1 FOR 6),"
    " 6, 112 | floor(random() * 16)::integer), 'hex')::uuid"
)


def uuid7(at: datetime | None = None) -> uuid.UUID:
    """A new UUIDv7 of `at` (now if None): 48 bits of Unix time in milliseconds, then
    74 random bits."""
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = _milliseconds(at or timezone.now()) << 80 | random_bits
    return uuid.UUID(int=value & ~_VERSION_MASK & ~_VARIANT_MASK | _VERSION | _VARIANT)


def uuid7_time(at: datetime) -> bytes:
    """The six bytes a UUIDv7 of `at` starts with (for UUID7_SQL)."""
    return _milliseconds(at).to_bytes(6, "big")


def _milliseconds(at: datetime) -> int:
    return int(at.timestamp() * 1000)
