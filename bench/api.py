"""The HTTP API under wrk: /healthz (the baseline) and the partner-facing endpoints."""

import json
import math
import uuid
from collections.abc import Callable
from pathlib import Path

from . import config
from .delivery import queue_clear
from .fixtures import Bench, refresh_token_file, token_pairs_issue
from .load import Measurement, wrk

BASELINE = "/healthz"
TOKEN_REFRESH = "token refresh"
SUBSCRIPTION_GET = "subscription GET"
SUBSCRIPTION_PUT = "subscription PUT"
LEAD_CREATE = "lead create"
ENDPOINTS = [BASELINE, TOKEN_REFRESH, SUBSCRIPTION_GET, SUBSCRIPTION_PUT, LEAD_CREATE]


class Api:
    """Runs each endpoint under wrk against the running gunicorn (`web_pid`)."""

    def __init__(
        self, bench: Bench, *, options: config.Options, web_pid: int, work_dir: Path
    ) -> None:
        self.bench = bench
        self.options = options
        self.web_pid = web_pid
        self.work_dir = work_dir
        self.bearer = "Bearer " + token_pairs_issue(bench, count=1)[0][0]
        self.site = bench.site.uuid
        # The fastest any endpoint can go, to size the refresh tokens a run needs.
        self.ceiling_rps = 0.0

    def run(self, *arguments: str, seconds: int) -> Measurement:
        return wrk(
            *arguments,
            seconds=seconds,
            options=self.options,
            server_pids=[self.web_pid],
        )

    def healthz(self, seconds: int) -> Measurement:
        result = self.run(BASELINE, "get.lua", seconds=seconds)
        self.ceiling_rps = max(self.ceiling_rps, result.rps)
        return result

    def token_refresh(self, seconds: int) -> Measurement:
        # Enough single-use refresh tokens for the baseline's rate, with room to spare.
        count = math.ceil(self.ceiling_rps * seconds * 1.5) + self.options.connections + 100
        tokens = refresh_token_file(
            self.bench, count=count, path=self.work_dir / f"refresh-{uuid.uuid4().hex}.txt"
        )
        result = self.run(
            "/piesync/oauth/token/",
            "token_refresh.lua",
            self.bench.basic,
            str(tokens),
            str(self.options.wrk_threads),
            seconds=seconds,
        )
        if result.requests + self.options.connections >= count:
            raise SystemExit(f"The refresh run used up its {count} tokens: raise the margin.")
        return result

    def subscription_get(self, seconds: int) -> Measurement:
        path = f"/piesync/subscription/{self.site}/"
        return self.run(path, "get.lua", self.bearer, seconds=seconds)

    def subscription_put(self, seconds: int) -> Measurement:
        body = json.dumps({"url": config.RECEIVER_URL, "secret": config.SUBSCRIPTION_SECRET})
        path = f"/piesync/subscription/{self.site}/"
        return self.run(path, "put_json.lua", self.bearer, body, seconds=seconds)

    def lead_create(self, seconds: int) -> Measurement:
        path = f"/rest/sites/{self.site}/leads"
        run_prefix = uuid.uuid4().hex[:16]
        try:
            return self.run(path, "lead_create.lua", self.bench.basic, run_prefix, seconds=seconds)
        finally:
            queue_clear()  # no worker runs now: the queued deliveries are dropped

    def measure(self, endpoint: str, seconds: int) -> Measurement:
        runs: dict[str, Callable[[int], Measurement]] = {
            BASELINE: self.healthz,
            TOKEN_REFRESH: self.token_refresh,
            SUBSCRIPTION_GET: self.subscription_get,
            SUBSCRIPTION_PUT: self.subscription_put,
            LEAD_CREATE: self.lead_create,
        }
        return runs[endpoint](seconds)

    def all(self, endpoints: list[str] = ENDPOINTS) -> dict[str, Measurement]:
        """Each endpoint warmed up, then measured in `rounds` rounds taken in turn across
        the endpoints; the fastest round of each counts. Other work on the machine (and
        the host's other tenants) can only slow a round down, and comes and goes: the
        fastest round is the nearest to what the service does, for the baseline and the
        endpoints alike."""
        for endpoint in endpoints:
            if self.options.warmup_seconds:
                self.measure(endpoint, self.options.warmup_seconds)
        best: dict[str, Measurement] = {}
        for _ in range(self.options.rounds):
            for endpoint in endpoints:
                result = self.measure(endpoint, self.options.seconds)
                if endpoint not in best or result.rps > best[endpoint].rps:
                    best[endpoint] = result
        return best
