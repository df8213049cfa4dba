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
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import django

from . import config, stack

# (layer, pattern of a frame's file as py-spy names it, relative to its import root): the
# first layer whose pattern matches, from the innermost frame out, takes the sample.
LAYERS = [
    ("psycopg: adapting parameters, sending, reading rows", r"^psycopg/"),
    ("Django's connection, pool and cursor wrappers", r"^(django/db/|psycopg_pool/|core/db\.py)"),
    ("the lead's body (payload JSON)", r"^leads/payloads\.py"),
    (
        "validation (DRF fields)",
        r"^(leads/serializers\.py|rest_framework/(fields|serializers)\.py)",
    ),
    ("JSON body parsing", r"^(core/parsers\.py|rest_framework/parsers\.py)"),
    ("the service and its statement's parameters", r"^(leads/(services|statements)\.py|core/ids)"),
    ("rate limits", r"^ratelimits/"),
    ("authentication", r"^(oauth_provider/|subscriptions/(selectors|views)\.py)"),
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint", nargs="?", default="lead create")
    parser.add_argument("--seconds", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-web-") as directory:
        os.environ.update(config.production_environment(directory))
        stack.fresh_database()
        django.setup()
        samples, rps, cpu_ms = _sample(args.endpoint, args.seconds, Path(directory))
    print(
        f"{args.endpoint}: {rps:,.0f} requests/s, {cpu_ms:.2f} ms CPU per request "
        f"(gunicorn and PostgreSQL), {sum(samples.values()):,} samples\n"
    )
    print(table(samples))


def _sample(endpoint: str, seconds: int, work: Path) -> tuple[Counter[str], float, float]:
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
            api.measure(endpoint, options.warmup_seconds)
            workers = _children(web.pid)
            recorders = [_record(pid, seconds, work / f"{pid}.txt") for pid in workers]
            measured = api.measure(endpoint, seconds + 1)
            for recorder in recorders:
                _, errors = recorder.communicate()
                if recorder.returncode != 0:
                    raise SystemExit(f"py-spy failed:\n{errors}")
            samples = split(
                line for pid in workers for line in (work / f"{pid}.txt").read_text().splitlines()
            )
    finally:
        connections.close_all()
        stack.drop_database()
    return samples, measured.rps, measured.cpu_ms


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]


def _record(pid: int, seconds: int, output: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            *("record", "--pid", str(pid), "--rate", "250", "--duration", str(seconds)),
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


def table(samples: Counter[str]) -> str:
    total = sum(samples.values()) or 1
    rows = [f"| {name} | {count / total:.0%} |" for name, count in samples.most_common()]
    return "\n".join(["| layer | share of Python CPU |", "|---|--:|", *rows])


if __name__ == "__main__":
    main()
