"""Drive one endpoint with wrk and read its latency distribution (bench/lua/common.lua)."""

import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from . import config
from .cpu import Meter, Usage


@dataclass
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts, and answers outside 2xx
    cpu: Usage

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        """CPU per request, gunicorn's and PostgreSQL's: what a request costs, whatever
        else the machine was doing meanwhile."""
        return (self.cpu.server + self.cpu.database) * 10 / self.rps


def wrk(
    path: str,
    script: str,
    *args: str,
    seconds: int,
    options: config.Options,
    server_pids: Iterable[int],
    base: str = config.WEB_BASE,
) -> Measurement:
    """`script` is a file in bench/lua/; `args` are passed to its init(). `base`: the
    server's address; `server_pids`: its processes, whose CPU is the server column."""
    command = [
        "wrk",
        f"-t{options.wrk_threads}",
        f"-c{options.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        f"bench/lua/{script}",
        base + path,
        "--",
        *args,
    ]
    meter = Meter(server_pids=server_pids, database=config.DATABASE_NAME)
    process = subprocess.Popen(command, cwd=config.ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, rusage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = meter.usage(load_seconds=rusage.ru_utime + rusage.ru_stime)
    line = next((line for line in output.splitlines() if line.startswith("BENCH_RESULT ")), None)
    if process.returncode or line is None:
        raise SystemExit(f"wrk failed ({process.returncode}) on {path}:\n{output}")
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    return Measurement(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        errors=result["socket_errors"] + result["timeouts"] + result["not_2xx"],
        cpu=cpu,
    )
