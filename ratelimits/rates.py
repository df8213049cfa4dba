"""Rates as the environment writes them: `<requests>/<period>`, e.g. `600/m` or `100/10s`."""

import re
from dataclasses import dataclass

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"(\d+)/(\d*)([smhd])")


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


def parse_rate(value: str) -> Rate | None:
    """The rate `value` spells, or None (no limit) for `""`, `"0"` or a zero count.

    A malformed value is a ValueError: ratelimits' system check then stops the process
    at start rather than silently not limiting.
    """
    text = value.replace(" ", "")
    if text in ("", "0"):
        return None
    match = _RATE.fullmatch(text)
    if match is None or (match[2] and int(match[2]) == 0):
        raise ValueError(
            "must look like 600/m or 100/10s (units s, m, h, d), or be 0 or empty to "
            f"disable; got {value!r}."
        )
    limit = int(match[1])
    if limit == 0:
        return None
    return Rate(limit=limit, seconds=int(match[2] or 1) * _SECONDS[match[3]])
