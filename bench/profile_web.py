"""Where gunicorn's Python CPU goes for one endpoint under the bench's load: py-spy
samples, in each worker, the thread holding the GIL while wrk runs the endpoint as
`make bench` does (fresh bench database, production settings, gunicorn.conf.py), and
each sample goes to the layer of its innermost frame that names one (gunicorn, Django,
DRF, psycopg, the service's own modules). PostgreSQL's CPU is the bench's column, not
sampled here. Prints a markdown table; the shares are of the workers' Python CPU.

    .venv/bin/python -m bench.profile_web ["lead create"] [--seconds 12]

py-spy attaches with ptrace: as root, or where the kernel lets a process trace its
children (`kernel.yama.ptrace_scope` 0 or 1).
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import django

from . import config, stack
from .load import Measurement

if TYPE_CHECKING:
    from .api import Api

# (layer, pattern of a frame's file as py-spy names it, relative to its import root): the
# first layer whose pattern matches, from the innermost frame out, takes the sample.
LAYERS = [
    ("psycopg: adapting parameters, sending, reading rows", r"^psycopg/"),
    ("Django's ORM, connection, pool and cursors", r"^(django/db/|psycopg_pool/|core/db\.py)"),
    ("the lead's body (payload JSON)", r"^leads/payloads\.py"),
    (
        "validation (DRF fields)",
        r"^(leads/serializers\.py|rest_framework/(fields|serializers)\.py)",
    ),
    ("JSON body parsing", r"^(core/parsers\.py|rest_framework/parsers\.py)"),
    ("the service and its statement's parameters", r"^(leads/(services|statements)\.py|core/ids)"),
    ("rate limits", r"^ratelimits/"),
    (
        "credentials: client secrets and tokens looked up and checked",
        r"^(oauth_provider/(authentication|client_authentication|permissions|selectors|hashers)"
        r"\.py|subscriptions/(selectors|views)\.py)",
    ),
    (
        "the OAuth flow: oauthlib, django-oauth-toolkit",
        r"^(oauthlib/|oauth2_provider/|oauth_provider/)",
    ),
    ("the subscription's answer (decrypting)", r"^(subscriptions/|cryptography/)"),
    ("DRF: request, negotiation, response, rendering", r"^rest_framework/"),
    ("Django: URL resolving", r"^django/urls/"),
    ("Django: request_started/finished signals", r"^django/dispatch/"),
    (
        "middleware (ours, Django's, whitenoise, axes)",
        r"^(core/(middleware|metrics|request_id)\.py|django/middleware/|whitenoise/|axes/"
        r"|django/contrib/|django/utils/deprecation\.py)",
    ),
    ("Django: handler, request and response objects", r"^django/"),
    ("gunicorn: HTTP parsing, writing, access log", r"^(gunicorn/|logging/)"),
]
_FILE = re.compile(r"\(([^()]+):\d+\)$")
OTHER = "other (the standard library's own)"


class ProfileUnavailable(Exception):
    """py-spy could not sample the workers (not installed, or not allowed to trace)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint", nargs="?", default="lead create")
    parser.add_argument("--seconds", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-web-") as directory:
        os.environ.update(config.production_environment(directory))
        stack.fresh_database()
        django.setup()
        samples, measured = _profile_fresh(args.endpoint, args.seconds, Path(directory))
    print(
        f"{args.endpoint}: {measured.rps:,.0f} requests/s, {measured.cpu_ms:.2f} ms CPU per "
        f"request (gunicorn and PostgreSQL), {sum(samples.values()):,} samples\n"
    )
    print(table({args.endpoint: samples}))


def _profile_fresh(endpoint: str, seconds: int, work: Path) -> tuple[Counter[str], Measurement]:
    from django.db import connections

    from . import run  # imports the models: only once Django is set up
    from .api import ENDPOINTS, Api

    if endpoint not in ENDPOINTS:
        raise SystemExit(f"Unknown endpoint {endpoint!r}: one of {', '.join(ENDPOINTS)}")
    options = config.options()
    bench = run.prepare()
    try:
        with stack.receiver(work), stack.web(work) as web, stack.stub_web(work) as stub:
            api = Api(bench, options=options, web_pid=web.pid, stub_web_pid=stub.pid, work_dir=work)
            api.healthz(options.warmup_seconds)  # sizes a grant's single-use credentials
            api.measure(endpoint, options.warmup_seconds)
            return profile(api, endpoint, web_pid=web.pid, seconds=seconds, work=work)
    except ProfileUnavailable as unavailable:
        raise SystemExit(str(unavailable)) from None
    finally:
        connections.close_all()
        stack.drop_database()


def profile(
    api: "Api", endpoint: str, *, web_pid: int, seconds: int, work: Path
) -> tuple[Counter[str], Measurement]:
    """The endpoint run by wrk for `seconds` while py-spy samples each of gunicorn's
    workers (`web_pid`'s children): the samples by layer, and wrk's measurement."""
    workers = _children(web_pid)
    recorders = [_record(pid, work / f"py-spy-{pid}.txt") for pid in workers]
    # Until wrk is done: a grant's run first makes its single-use credentials, for as
    # long as it takes (the workers idle meanwhile, and hold no GIL to sample).
    measured = api.measure(endpoint, seconds)
    for recorder in recorders:
        recorder.send_signal(signal.SIGINT)  # py-spy writes what it sampled, and exits
        _, errors = recorder.communicate()
        if recorder.returncode != 0:
            raise ProfileUnavailable(f"py-spy failed: {errors.strip()}")
    return split(
        line for pid in workers for line in (work / f"py-spy-{pid}.txt").read_text().splitlines()
    ), measured


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]


def _record(pid: int, output: Path) -> subprocess.Popen[str]:
    executable = Path(sys.executable).with_name("py-spy")
    if not executable.exists():
        raise ProfileUnavailable(f"no {executable}: `make install` installs the dev extras")
    return subprocess.Popen(
        [
            str(executable),
            *("record", "--pid", str(pid), "--rate", "250"),
            *("--format", "raw", "--output", str(output), "--gil", "--nonblocking"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def split(lines: Iterable[str]) -> Counter[str]:
    """py-spy's raw lines (`frame;frame;... count`, outermost first) by layer: every
    sample of a worker, its accept loop's too, since under load all of it serves."""
    layers = [(name, re.compile(pattern)) for name, pattern in LAYERS]
    samples: Counter[str] = Counter()
    for line in lines:
        stack_text, _, count = line.rpartition(" ")
        if count.isdigit():
            samples[_layer(stack_text.split(";"), layers)] += int(count)
    return samples


def _layer(frames: list[str], layers: list[tuple[str, re.Pattern[str]]]) -> str:
    for frame in reversed(frames):
        file = _FILE.search(frame.strip())
        for name, pattern in layers:
            if file and pattern.search(file.group(1)):
                return name
    return OTHER


def table(profiles: Mapping[str, Counter[str]]) -> str:
    """One column per endpoint: each layer's share of that endpoint's samples, the
    layers in order of their largest share."""
    shares = {
        endpoint: {layer: count / (sum(samples.values()) or 1) for layer, count in samples.items()}
        for endpoint, samples in profiles.items()
    }
    layers = sorted(
        {layer for by_layer in shares.values() for layer in by_layer},
        key=lambda layer: -max(by_layer.get(layer, 0) for by_layer in shares.values()),
    )
    return "\n".join(
        [
            f"| layer | {' | '.join(shares)} |",
            f"|---|{'--:|' * len(shares)}",
            *(
                f"| {layer} | "
                + " | ".join(f"{by_layer.get(layer, 0):.0%}" for by_layer in shares.values())
                + " |"
                for layer in layers
            ),
        ]
    )


if __name__ == "__main__":
    main()
