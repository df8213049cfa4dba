"""Sending a request body the way API tests need: JSON, or exactly the given bytes."""

import json
from typing import Any

from django.test import Client


def send(method: str, path: str, body: Any = None, *, content_type: str, **extra: Any):
    """One request; `body` is sent as JSON unless it already is bytes or str (malformed
    bodies are sent as they are)."""
    data: bytes | str
    if body is None:
        data = b""
    elif isinstance(body, bytes | str):
        data = body
    else:
        data = json.dumps(body)
    return Client().generic(method, path, data, content_type=content_type, **extra)
