"""Text PostgreSQL can store: no U+0000 (a text column refuses it) and no lone surrogate
(UTF-8 has no form for one, and JSON's \\uXXXX escapes can carry one).

psycopg raises DataError for either, a 500 if it reaches the database: everything that
takes text from outside and stores it, or looks a row up by it, asks here first.
"""


def is_storable_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only a lone surrogate has no UTF-8 form
        return False
    return True


def holds_unstorable_text(value: object) -> bool:
    """Whether any string in a JSON value, an object's names included, is not storable."""
    if isinstance(value, str):
        return not is_storable_text(value)
    if isinstance(value, dict):
        return any(holds_unstorable_text(k) or holds_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_unstorable_text(item) for item in value)
    return False
