"""The results as Markdown: the machine, the tables, and each target met or not."""

import math
import os
import platform
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version

from django.conf import settings
from django.db import connection

from . import config
from .api import (
    BASELINE,
    CODE_EXCHANGE,
    ENDPOINTS,
    LEAD_CREATE,
    SUBSCRIPTION_GET,
    SUBSCRIPTION_PUT,
    TOKEN_REFRESH,
)
from .delivery import Latency, Rate
from .load import Measurement
from .profile_web import table

# Issue 11: share of the baseline's requests/s. The code exchange and the public URL's
# PUT have none: they are measured, the exchange checked to answer 200 every time.
API_TARGETS = {
    SUBSCRIPTION_GET: 0.45,
    SUBSCRIPTION_PUT: 0.40,
    LEAD_CREATE: 0.25,
    TOKEN_REFRESH: 0.20,
}
# Issue 11's starting shares: an endpoint short of its target must reach at least twice
# this at every scale, and docs/speed.md says why it stops where it does.
API_STARTING_SHARES = {
    SUBSCRIPTION_GET: 0.18,
    SUBSCRIPTION_PUT: 0.11,
    LEAD_CREATE: 0.08,
    TOKEN_REFRESH: 0.04,
}
WHY = "docs/speed.md#what-the-profiles-say"
PROFILE_HEADING = "Where gunicorn's Python CPU goes, for the targets not met"
LARGE_DATA_TOLERANCE = 0.20
LATENCY_P50_MS, LATENCY_P99_MS = 50, 500
WORKER_DELIVERIES_PER_SECOND = 250
DELIVERIES_VS_RAW = 0.30
CPU_NOTE = (
    "CPU columns: percent of one core during the measurement (200% is the whole "
    "2-core machine): the load generator / the server (gunicorn, or the worker) / the "
    "bench database's PostgreSQL backends / everything else on the machine."
)


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return ""


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory_kb = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip('"')
            for line in _read("/etc/os-release").splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.system(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {memory_kb / 1024 / 1024:.1f} GiB",
        f"- OS: {os_name}, Linux {platform.release()}",
        f"- Python {platform.python_version()}, PostgreSQL {postgres}, "
        f"gunicorn {version('gunicorn')}, Django {version('django')}, "
        f"wrk {wrk[1] if len(wrk) > 1 else '?'}",
    ]


def met(ok: bool) -> str:
    return "met" if ok else "**not met**"


@dataclass
class Results:
    options: config.Options
    web: str  # "2 workers x 4 threads"
    seeding: dict[str, str]  # scale → what was seeded, and how long it took
    api: dict[str, dict[str, Measurement]]  # scale → endpoint → measurement
    latency: Latency
    throughput: Rate
    raw: Rate  # at the worker's concurrency
    raw_one: Rate  # one request at a time
    profiles: dict[str, Counter[str]] = field(default_factory=dict)  # endpoint → by layer
    profile_note: str = ""  # how they were taken, or why there are none

    def ratio(self, scale: str, endpoint: str) -> float:
        return self.api[scale][endpoint].rps / self.api[scale][BASELINE].rps

    def api_tables(self) -> list[str]:
        lines = []
        for scale, measurements in self.api.items():
            lines += [
                f"### {scale}: {self.seeding[scale]}",
                "",
                "| endpoint | requests/s | p50 ms | p99 ms | vs /healthz | target | "
                "| CPU ms/request | CPU % wrk / gunicorn / PostgreSQL / other |",
                "|---|--:|--:|--:|--:|---|---|--:|---|",
            ]
            for endpoint in ENDPOINTS:
                result = measurements[endpoint]
                ratio = self.ratio(scale, endpoint)
                target = API_TARGETS.get(endpoint)
                errors = f" ({result.errors} errors!)" if result.errors else ""
                lines.append(
                    f"| {endpoint} | {result.rps:,.0f}{errors} | {result.p50_ms:.1f} | "
                    f"{result.p99_ms:.1f} | {ratio:.0%} | "
                    + (
                        f"≥ {target:.0%} | {met(ratio >= target and not result.errors)} "
                        if target
                        else "| "
                    )
                    + f"| {result.cpu_ms:.2f} | {result.cpu} |"
                )
            lines.append("")
        return lines

    def shares(self, endpoint: str) -> str:
        """The endpoint's share of /healthz at each scale (a share shown rounded down, so
        that a figure just short of a target never reads as reaching it)."""
        return ", ".join(
            f"{scale} {math.floor(self.ratio(scale, endpoint) * 1000) / 10:.1f}%"
            for scale in self.api
        )

    def growth(self, scale: str, endpoint: str) -> float:
        """Change of the share of the baseline from the small scale to `scale`."""
        return self.ratio(scale, endpoint) / self.ratio("small", endpoint) - 1

    def growth_table(self) -> list[str]:
        large = [scale for scale in self.api if scale != "small"]
        if "small" not in self.api or not large:
            return []
        lines = [
            "| endpoint | small: vs /healthz | small: CPU ms/request | "
            + " | ".join(
                f"{scale}: vs /healthz (change) | {scale}: CPU ms/request" for scale in large
            )
            + f" | target: within {LARGE_DATA_TOLERANCE:.0%} | |",
            "|---|--:|--:|" + "--:|--:|" * len(large) + "---|---|",
        ]
        for endpoint in ENDPOINTS[1:]:
            small = self.api["small"][endpoint]
            cells = [
                f"{self.ratio(scale, endpoint):.0%} ({self.growth(scale, endpoint):+.0%}) | "
                f"{self.api[scale][endpoint].cpu_ms:.2f} "
                f"({self.api[scale][endpoint].cpu_ms / small.cpu_ms - 1:+.0%})"
                for scale in large
            ]
            worst = min(self.growth(scale, endpoint) for scale in large)
            lines.append(
                f"| {endpoint} | {self.ratio('small', endpoint):.0%} | {small.cpu_ms:.2f} | "
                + " | ".join(cells)
                + f" | ≥ {-LARGE_DATA_TOLERANCE:.0%} | {met(worst >= -LARGE_DATA_TOLERANCE)} |"
            )
        return lines

    def delivery_table(self) -> list[str]:
        latency, rate, raw = self.latency, self.throughput, self.raw
        share = rate.per_second / raw.per_second
        concurrency = settings.PROCRASTINATE_WORKER_DEFAULTS["concurrency"]  # jobs at once
        return [
            "| measure | value | target | | CPU % bench / server / PostgreSQL / other |",
            "|---|--:|---|---|---|",
            f"| commit → receipt p50 ({latency.delivered} of {latency.sent} leads) "
            f"| {latency.p50_ms:.1f} ms | < {LATENCY_P50_MS} ms "
            f"| {met(latency.p50_ms < LATENCY_P50_MS)} | |",
            f"| commit → receipt p99 | {latency.p99_ms:.1f} ms | < {LATENCY_P99_MS} ms "
            f"| {met(latency.p99_ms < LATENCY_P99_MS)} | |",
            f"| deliveries/s, one worker ({rate.count:,} queued) | {rate.per_second:,.0f} "
            f"| ≥ {WORKER_DELIVERIES_PER_SECOND} "
            f"| {met(rate.per_second >= WORKER_DELIVERIES_PER_SECOND)} | {rate.cpu} |",
            f"| raw POST/s, the worker's httpx client, {concurrency} at once "
            f"| {raw.per_second:,.0f} "
            f"| | | {raw.cpu} |",
            f"| raw POST/s, the same client, one at a time | {self.raw_one.per_second:,.0f} "
            f"| | | {self.raw_one.cpu} |",
            f"| deliveries vs raw POST rate ({concurrency} at once) | {share:.0%} "
            f"| ≥ {DELIVERIES_VS_RAW:.0%} "
            f"| {met(share >= DELIVERIES_VS_RAW)} | |",
        ]

    def load_generator_note(self) -> str:
        first = next(iter(self.api))
        baseline = self.api[first][BASELINE]
        verdict = (
            "the server, not the load generator, is what saturates"
            if baseline.cpu.load < 50 and baseline.cpu.server > baseline.cpu.load * 4
            else "**the load generator took a large share: treat the numbers with care**"
        )
        return (
            f"wrk is not the bottleneck: on /healthz ({first}) it used "
            f"{baseline.cpu.load:.0f}% of one core while gunicorn used "
            f"{baseline.cpu.server:.0f}%: {verdict}."
        )

    def targets(self) -> list[str]:
        """Every target in one list (API shares at every scale measured)."""
        lines = []
        short = short_of_target(self.api)
        why = f"the profile below, and {WHY}" if self.profiles else WHY
        for endpoint, target in API_TARGETS.items():
            ok = endpoint not in short
            lines.append(
                f"- {met(ok)}: {endpoint} ≥ {target:.0%} of /healthz: {self.shares(endpoint)}"
            )
            if not ok:
                twice = 2 * API_STARTING_SHARES[endpoint]
                reached = all(self.ratio(scale, endpoint) >= twice for scale in self.api)
                lines.append(
                    f"  - {met(reached)} instead: at least twice the starting "
                    f"{API_STARTING_SHARES[endpoint]:.0%}, {twice:.0%}, at every scale "
                    f"(why not more: {why})"
                )
        refused = sum(scale[CODE_EXCHANGE].errors for scale in self.api.values())
        lines.append(
            f"- {met(not refused)}: every authorization-code exchange answered 200: "
            f"{refused:,} did not"
        )
        share = self.throughput.per_second / self.raw.per_second
        lines.append(
            f"- {met(share >= DELIVERIES_VS_RAW)}: deliveries ≥ {DELIVERIES_VS_RAW:.0%} of the "
            f"raw POST rate: {share:.0%}"
        )
        for scale in self.api:
            if scale != "small" and "small" in self.api:
                worst = min(self.growth(scale, endpoint) for endpoint in ENDPOINTS[1:])
                lines.append(
                    f"- {met(worst >= -LARGE_DATA_TOLERANCE)}: {scale} within "
                    f"{LARGE_DATA_TOLERANCE:.0%} of small: worst change {worst:+.0%}"
                )
        latency, rate = self.latency, self.throughput.per_second
        lines += [
            f"- {met(latency.p50_ms < LATENCY_P50_MS)}: commit → receipt p50 < "
            f"{LATENCY_P50_MS} ms: {latency.p50_ms:.1f} ms",
            f"- {met(latency.p99_ms < LATENCY_P99_MS)}: commit → receipt p99 < "
            f"{LATENCY_P99_MS} ms: {latency.p99_ms:.1f} ms",
            f"- {met(rate >= WORKER_DELIVERIES_PER_SECOND)}: one worker ≥ "
            f"{WORKER_DELIVERIES_PER_SECOND} deliveries/s: {rate:,.0f}",
        ]
        return lines

    def markdown(self) -> str:
        options = self.options
        others = max(
            measurement.cpu.other for scale in self.api.values() for measurement in scale.values()
        )
        lines = [
            "# `make bench` results",
            "",
            *machine(),
            "",
            "Production settings (DEBUG off, metrics on, rate limits counted but far away), "
            f"gunicorn with gunicorn.conf.py ({self.web}); wrk -t{options.wrk_threads} "
            f"-c{options.connections} -d{options.seconds}s after a {options.warmup_seconds} s "
            "warm-up per endpoint; requests as through the TLS proxy (`X-Forwarded-Proto: "
            "https`, `X-Forwarded-For`), a connection each, as nginx proxies by default. "
            f"Each figure is the fastest of {options.rounds} rounds taken in turn across the "
            "endpoints (other work only ever slows a round down); each ratio is to /healthz "
            "measured the same way at the same scale.",
            "",
            CPU_NOTE + " " + self.load_generator_note(),
            "",
        ]
        if others > 20:
            lines += [
                f"Other processes were running during the measurements (up to {others:.0f}% "
                "of a core: the 'other' column), so these numbers are lower than on an idle "
                "machine.",
                "",
            ]
        lines += ["## API, 32 concurrent connections", "", *self.api_tables()]
        growth = self.growth_table()
        if growth:
            lines += [
                "## Cost as data grows",
                "",
                "Each endpoint's share of /healthz at each scale and its change from the "
                "small scale (the target; the baseline is measured again at each scale, so "
                "a busier machine does not pass for a slower endpoint), and the CPU a "
                "request costs (gunicorn and PostgreSQL), which other processes on the "
                "machine do not change.",
                "",
                *growth,
                "",
            ]
        lines += [
            "## Webhook delivery, one worker against a loopback receiver",
            "",
            *self.delivery_table(),
            "",
            "## Targets",
            "",
            *self.targets(),
            "",
        ]
        if self.profiles or self.profile_note:
            lines += [f"## {PROFILE_HEADING}", "", self.profile_note, ""]
        if self.profiles:
            lines += [table(self.profiles), ""]
        return "\n".join(lines)


def short_of_target(api: dict[str, dict[str, Measurement]]) -> list[str]:
    """The endpoints whose share of /healthz is below their target at some scale, or
    that answered errors."""
    return [
        endpoint
        for endpoint, target in API_TARGETS.items()
        if any(
            scale[endpoint].rps / scale[BASELINE].rps < target or scale[endpoint].errors
            for scale in api.values()
        )
    ]
