"""What the apps' admin pages share: a stylesheet, long values cut to fit a column, JSON
for people to read."""

import json
from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString

# core/static/core/admin.css, for a ModelAdmin's Media: change lists that fit a 1280 px
# screen, a compact activity inline, JSON blocks that wrap.
ADMIN_CSS = "core/admin.css"


def truncated(text: str, *, title: str = "") -> SafeString:
    """`text` on one line, cut with an ellipsis by admin.css to its column's width; the whole
    of it (or `title`) in the tooltip. Both escaped."""
    return format_html('<span class="rg-truncate" title="{}">{}</span>', title or text, text)


def json_block(raw: bytes) -> SafeString:
    """A JSON document indented, in a <pre> that wraps at the page's edge (admin.css);
    anything else as it is. Escaped: it is user data."""
    try:
        text = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:  # not JSON, or not UTF-8
        text = raw.decode(errors="replace")
    return format_html('<pre class="rg-json">{}</pre>', text)


class BlankNullJSONField(forms.JSONField):
    """No value shows as an empty box, not as the JSON `null`; an empty box saves None."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)
