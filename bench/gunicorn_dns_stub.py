"""gunicorn settings for the bench's "subscription PUT, public URL" row: gunicorn.conf.py's,
and in each worker a DNS stub for the bench's one public host name.

That server refuses private networks, as production does, so a PUT resolves the URL's
host (`subscriptions.url_policy.lookup`) and checks every address is public. The stub
answers a fixed public address for `PUBLIC_HOOK_HOST`, so the row shows what the lookup
and the check cost apart from the network; any other name goes to the real lookup.

gunicorn reads this file by its path (`--config`) and takes the names it knows as
settings (hence no name here may be one of them, such as `config`).
"""

from typing import Any

from bench.config import PUBLIC_HOOK_ADDRESS, PUBLIC_HOOK_HOST, ROOT
from subscriptions import url_policy

exec((ROOT / "gunicorn.conf.py").read_text())  # noqa: S102 (our own file)

real_lookup = url_policy.lookup


def stub_lookup(host: str, port: int) -> list[str]:
    if host == PUBLIC_HOOK_HOST:
        return [PUBLIC_HOOK_ADDRESS]
    return real_lookup(host, port)


def post_worker_init(worker: Any) -> None:
    """Once the worker has loaded the application, before it serves a request."""
    url_policy.lookup = stub_lookup
