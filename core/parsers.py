"""The one way a JSON API reads a body: `request.data`, parsed here (REST_FRAMEWORK's
DEFAULT_PARSER_CLASSES) as strict JSON, whatever Content-Type was sent with it.

Its own module: DRF imports it while defining APIView, so it must not import DRF's views.
"""

import json
import math
from collections.abc import Mapping
from typing import IO, Any, NoReturn

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.datastructures import MultiValueDict
from rest_framework.parsers import BaseParser, DataAndFiles
from rest_framework.request import Request

from .errors import InvalidJson, TooLarge

# RFC 8259 §9 lets a parser limit nesting; deeper bodies are refused before any use.
JSON_MAX_DEPTH = 32


class StrictJsonParser(BaseParser):
    """The body as strict JSON (RFC 8259), within the view's size limit.

    The limit is the view's `max_body_bytes` (bytes, or None for Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE). Python's json module also takes NaN, Infinity, numbers
    that overflow to infinity, repeated names and other encodings than UTF-8; each
    reached a database or a client as a 500 or a wrong value, so each is refused here.
    `request.data` is the JSON value, whatever its type (an array too).

    The body is read from the request, not from `stream`: DRF would give no stream for
    a chunked body (core.api.BodyRequest hands every body over).
    """

    media_type = "application/json"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> "DataAndFiles[Any, MultiValueDict[str, Any]]":  # generic in the stubs only
        context = parser_context or {}
        limit: int | None = getattr(context.get("view"), "max_body_bytes", None)
        raw = raw_body(context["request"], limit)
        return DataAndFiles(strict_json(raw), MultiValueDict())


def raw_body(request: Request, max_bytes: int | None) -> bytes:
    """The body, refused as too large past `max_bytes` (default: Django's upload limit)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if max_bytes is None else max_bytes
    suffix = "" if max_bytes is None else f" (limit {max_bytes} bytes)"
    too_large = TooLarge(f"Request body too large{suffix}")
    meta = request.META
    # Refuse by the declared length before reading the body into memory.
    declared = meta.get("CONTENT_LENGTH") or "0"
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if not raw and not meta.get("CONTENT_LENGTH") and meta.get("wsgi.input_terminated"):
        # A chunked body (no Content-Length): Django reads none of it, but a server that
        # sets wsgi.input_terminated (gunicorn does) guarantees the stream ends.
        raw = meta["wsgi.input"].read(-1 if limit is None else limit + 1)
    if limit is not None and len(raw) > limit:
        raise too_large
    return raw


def strict_json(raw: bytes) -> Any:
    """`raw` as a JSON value; InvalidJson, with the reason when there is a short one."""
    try:
        # RFC 8259 §8.1: UTF-8 only, and a parser may ignore a byte order mark. §11: a
        # charset parameter has no effect.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidJson("not UTF-8") from None
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_non_finite,
            parse_float=_finite_float,
            object_pairs_hook=_object_with_unique_names,
        )
    except RecursionError:  # deeper than Python's stack allows: far past the limit
        raise _too_deep() from None
    except ValueError as exc:
        raise InvalidJson() from exc
    if _deeper_than(value, JSON_MAX_DEPTH):
        raise _too_deep()
    return value


def _refuse_non_finite(constant: str) -> NoReturn:
    # RFC 8259 §6: "Numeric values that cannot be represented in the grammar below (such
    # as Infinity and NaN) are not permitted."
    raise InvalidJson("NaN, Infinity and numbers beyond 1.8e308 are not JSON numbers")


def _finite_float(literal: str) -> float:
    # RFC 8259 §9: a parser may limit the range of numbers; past a double's, Python
    # would make it infinity, which neither PostgreSQL's jsonb nor a JSON encoder takes.
    number = float(literal)
    if not math.isfinite(number):
        _refuse_non_finite(literal)
    return number


def _object_with_unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259 §4: with repeated names "the behavior of software that receives such an
    # object is unpredictable"; RFC 7493 §2.3 forbids them.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise InvalidJson("a name appears twice in one object")
    return obj


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iterative: no recursion)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = list(node.values()) if isinstance(node, dict) else node
        if not isinstance(children, list):
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _too_deep() -> InvalidJson:
    return InvalidJson(f"nested deeper than {JSON_MAX_DEPTH} levels")
