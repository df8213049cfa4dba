"""Prints deploy/nginx.conf.template with its `${NGINX_*}` placeholders filled in from
the environment (nginx's own `$variables` are left alone); fails, naming them, when any
is unset or empty, rather than write a config nginx would misread.

    NGINX_SERVER_NAME=rg.example.com ... python3 deploy/render_nginx_conf.py > realgeeks.conf
"""

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
PLACEHOLDER = re.compile(r"\$\{(NGINX_[A-Z0-9_]+)\}")


def render(template: str, values: Mapping[str, str]) -> str:
    missing = sorted({name for name in PLACEHOLDER.findall(template) if not values.get(name)})
    if missing:
        raise SystemExit(f"Set {', '.join(missing)} to render {TEMPLATE.name}.")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


if __name__ == "__main__":
    sys.stdout.write(render(TEMPLATE.read_text(), os.environ))
