"""Where the machine's CPU went during a measurement, from /proc.

It shows that the load generator is not the bottleneck, and how much of the machine
other processes (other people's tests, say) took while the numbers were taken.
"""

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


def _process_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def _children(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return children


def _database_backends(database: str) -> list[int]:
    """PostgreSQL backends connected to `database` (their title names it)."""
    backends = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    title = cmdline.read().decode(errors="replace")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                backends.append(int(entry))
    return backends


def _machine_ticks() -> int:
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(value) for value in stat.readline().split()[1:9]
        )
    return user + nice + system + irq + softirq + steal


@dataclass
class Usage:
    """CPU used during a measurement, in percent of one core (200 = both of 2 cores)."""

    load: float  # the load generator (wrk, or the bench's own client)
    server: float  # gunicorn, or the delivery worker
    database: float  # PostgreSQL backends of the bench database
    other: float  # everything else on the machine

    def __str__(self) -> str:
        return f"{self.load:.0f} / {self.server:.0f} / {self.database:.0f} / {self.other:.0f}"


class Meter:
    """Snapshot before, `usage()` after. `server_pids` are roots: their children count too."""

    def __init__(self, *, server_pids: Iterable[int], database: str) -> None:
        self.server_roots = list(server_pids)
        self.database = database
        self.started = time.monotonic()
        self.machine = _machine_ticks()
        self.server = self._server_ticks()
        self.backends = {pid: _process_ticks(pid) for pid in _database_backends(database)}
        self.own = _process_ticks(os.getpid())

    def _server_ticks(self) -> int:
        pids = [*self.server_roots, *(c for root in self.server_roots for c in _children(root))]
        return sum(_process_ticks(pid) for pid in pids)

    def usage(self, *, load_seconds: float | None = None) -> Usage:
        """`load_seconds`: the load generator's CPU time, when it was a child process
        (from its rusage); otherwise the bench process itself is the load generator."""
        elapsed = time.monotonic() - self.started
        per_core = 100 / (elapsed * TICKS)
        machine = (_machine_ticks() - self.machine) * per_core
        server = (self._server_ticks() - self.server) * per_core
        database = (
            sum(
                _process_ticks(pid) - self.backends.get(pid, 0)
                for pid in _database_backends(self.database)
            )
            * per_core
        )
        own = (_process_ticks(os.getpid()) - self.own) * per_core
        load = own if load_seconds is None else load_seconds * 100 / elapsed
        other = machine - server - database - load - (0 if load_seconds is None else own)
        return Usage(load=load, server=server, database=database, other=max(0.0, other))
