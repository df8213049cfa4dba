"""The whole bench, and the gunicorn tuning sweep."""

import os
import tempfile
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from . import config, delivery, profile_web, seed, stack
from .api import BASELINE, LEAD_CREATE, Api, options_check
from .fixtures import Bench, bench_create
from .load import Measurement
from .report import Results, machine, short_of_target


def prepare() -> Bench:
    """The fresh database (made in __main__) migrated, with the bench's own rows."""
    call_command("migrate", verbosity=0)
    return bench_create()


def web_shape() -> str:
    """gunicorn's workers x threads as gunicorn.conf.py resolves them here."""
    namespace: dict[str, object] = {}
    exec((config.ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 (our own file)
    return f"{namespace['workers']} workers x {namespace['threads']} threads"


def bench() -> None:
    options = config.options()
    options_check(options)
    bench = prepare()
    api_results: dict[str, dict[str, Measurement]] = {}
    seeding: dict[str, str] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as directory:
            work = Path(directory)
            with stack.receiver(work) as receiver:
                print("Delivery: commit → receipt latency ...", flush=True)
                latency = delivery.latency(bench, log_dir=work, count=options.latency_leads)
                print("Delivery: one worker's deliveries/s ...", flush=True)
                throughput = delivery.throughput(bench, log_dir=work, count=options.deliveries)
                print("Delivery: raw POST rate of the same client ...", flush=True)
                raw = delivery.raw_post_rate(
                    count=options.deliveries,
                    concurrency=int(settings.PROCRASTINATE_WORKER_DEFAULTS["concurrency"]),
                    receiver_pid=receiver.pid,
                )
                raw_one = delivery.raw_post_rate(
                    count=options.deliveries, concurrency=1, receiver_pid=receiver.pid
                )
                with stack.web(work) as web, stack.stub_web(work) as stub_web:
                    api = Api(
                        bench,
                        options=options,
                        web_pid=web.pid,
                        stub_web_pid=stub_web.pid,
                        work_dir=work,
                    )
                    for scale in options.scales:
                        sites, leads = config.SCALES[scale]
                        print(f"Seeding {scale}: {sites:,} sites, {leads:,} leads ...", flush=True)
                        seeded = seed.seed_to(sites=sites, application=bench.application)
                        seeding[scale] = (
                            f"{seeded.sites:,} seeded sites besides the bench's own, "
                            f"{seeded.leads:,} leads in all (seeded in {seeded.seconds:.0f} s)"
                            if sites
                            else f"fresh database, the bench's site only ({seeded.leads:,} leads)"
                        )
                        print(f"API at {scale} ...", flush=True)
                        api_results[scale] = api.all()
                    profiles, profile_note = profile_short_of_target(
                        api,
                        api_results,
                        web_pid=web.pid,
                        work=work,
                        seconds=options.profile_seconds,
                    )
        results = Results(
            options=options,
            web=web_shape(),
            seeding=seeding,
            api=api_results,
            latency=latency,
            throughput=throughput,
            raw=raw,
            raw_one=raw_one,
            profiles=profiles,
            profile_note=profile_note,
        )
        markdown = results.markdown()
        print("\n" + markdown)
        config.RESULTS.write_text(markdown)
        print(f"Written to {config.RESULTS.relative_to(config.ROOT)}")
    finally:
        connections.close_all()
        stack.drop_database()


def profile_short_of_target(
    api: Api,
    results: dict[str, dict[str, Measurement]],
    *,
    web_pid: int,
    work: Path,
    seconds: int,
) -> tuple[dict[str, Counter[str]], str]:
    """Each endpoint short of its target profiled at the last scale measured
    (bench.profile_web), and how; or why there is no profile."""
    short = short_of_target(results)
    if not short or not seconds:
        return {}, ""
    scale = list(results)[-1]
    profiles = {}
    try:
        for endpoint in short:
            print(f"Profiling {endpoint} ...", flush=True)
            profiles[endpoint], _ = profile_web.profile(
                api, endpoint, web_pid=web_pid, seconds=seconds, work=work
            )
    except profile_web.ProfileUnavailable as unavailable:
        return {}, f"Not profiled: {unavailable}."
    return profiles, (
        f"py-spy sampled each gunicorn worker's GIL-holding thread for {seconds} s while wrk "
        f"ran each endpoint, at the {scale} scale, after its measurements; each sample goes "
        "to the layer of its innermost frame that names one (`bench/profile_web.py`). Shares "
        "of the workers' Python CPU: PostgreSQL's is in the CPU columns above. How to read "
        "them: docs/speed.md#what-the-profiles-say."
    )


TUNE_SHAPES = "1x8,2x4,2x8,3x4,4x2,4x4,5x2,6x2"


def tune() -> None:
    """/healthz and lead create for several workers x threads (`BENCH_TUNE_SHAPES`)."""
    options = config.options()
    bench = prepare()
    shapes = [
        (int(workers), int(threads))
        for workers, threads in (
            shape.split("x")
            for shape in os.environ.get("BENCH_TUNE_SHAPES", TUNE_SHAPES).split(",")
        )
    ]
    lines = [
        "| workers x threads | /healthz req/s | p99 ms | lead create req/s | p50 ms | p99 ms "
        "| vs /healthz | CPU ms/request | CPU % wrk / gunicorn / PostgreSQL / other |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as directory:
            work = Path(directory)
            for workers, threads in shapes:
                print(f"{workers} workers x {threads} threads ...", flush=True)
                with stack.web(work, workers=workers, threads=threads) as web:
                    api = Api(bench, options=options, web_pid=web.pid, work_dir=work)
                    results = api.all([BASELINE, LEAD_CREATE])
                healthz, create = results[BASELINE], results[LEAD_CREATE]
                lines.append(
                    f"| {workers} x {threads} | {healthz.rps:,.0f} | {healthz.p99_ms:.1f} "
                    f"| {create.rps:,.0f} | {create.p50_ms:.1f} | {create.p99_ms:.1f} "
                    f"| {create.rps / healthz.rps:.0%} | {create.cpu_ms:.2f} | {create.cpu} |"
                )
                print(lines[-1], flush=True)
        description = machine()
    finally:
        connections.close_all()
        stack.drop_database()
    markdown = "\n".join(
        [
            "# gunicorn workers x threads (`python -m bench --tune`)",
            "",
            *description,
            "",
            f"wrk -t{options.wrk_threads} -c{options.connections} -d{options.seconds}s after "
            f"a {options.warmup_seconds} s warm-up, production settings, a connection per "
            f"request as through nginx; the fastest of {options.rounds} rounds taken in "
            "turn across the two endpoints.",
            "",
            *lines,
            "",
        ]
    )
    print("\n" + markdown)
    config.TUNING_RESULTS.write_text(markdown)
