"""The HTTP API under wrk: /healthz (the baseline) and the partner-facing endpoints."""

import json
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from oauth2_provider.settings import oauth2_settings

from . import config, stack
from .delivery import queue_clear
from .fixtures import (
    Bench,
    code_file,
    receiver_subscribe,
    receiver_subscribed,
    refresh_token_file,
    token_pairs_issue,
)
from .load import Measurement, wrk

BASELINE = "/healthz"
TOKEN_REFRESH = "token refresh"
CODE_EXCHANGE = "code exchange"
SUBSCRIPTION_GET = "subscription GET"
SUBSCRIPTION_PUT = "subscription PUT"
SUBSCRIPTION_PUT_PUBLIC = "subscription PUT, public URL"
LEAD_CREATE = "lead create"
ENDPOINTS = [
    BASELINE,
    TOKEN_REFRESH,
    CODE_EXCHANGE,
    SUBSCRIPTION_GET,
    SUBSCRIPTION_PUT,
    SUBSCRIPTION_PUT_PUBLIC,
    LEAD_CREATE,
]

TOKEN_PATH = "/piesync/oauth/token/"
# The token requests' form bodies, up to the single-use credential that ends each.
REFRESH_FORM = "grant_type=refresh_token&refresh_token="
CODE_FORM = (
    f"grant_type=authorization_code&redirect_uri={quote(config.REDIRECT_URI, safe='')}&code="
)
# Between the codes' creation and the end of a run: writing them, wrk's start.
CODE_MARGIN_SECONDS = 10


def options_check(options: config.Options) -> None:
    """Refuse, before anything runs, options under which the codes would expire mid-run."""
    lifetime = oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS
    longest = max(options.seconds, options.warmup_seconds)
    if longest + CODE_MARGIN_SECONDS > lifetime:
        raise SystemExit(
            f"A {longest} s run outlives the authorization codes ({lifetime} s, "
            f"OAUTH_CODE_EXPIRE_SECONDS) with a {CODE_MARGIN_SECONDS} s margin."
        )


class CredentialFile(Protocol):
    """Writes `count` single-use credentials to `path`, one a line (bench/fixtures.py)."""

    def __call__(self, bench: Bench, *, count: int, path: Path) -> Path: ...


class Api:
    """Runs each endpoint under wrk against the running gunicorn (`web_pid`); the public
    URL's PUT against the second one, with the DNS stub (`stub_web_pid`)."""

    def __init__(
        self,
        bench: Bench,
        *,
        options: config.Options,
        web_pid: int,
        work_dir: Path,
        stub_web_pid: int | None = None,
    ) -> None:
        self.bench = bench
        self.options = options
        self.web_pid = web_pid
        self.stub_web_pid = stub_web_pid
        self.work_dir = work_dir
        self.bearer = "Bearer " + token_pairs_issue(bench, count=1)[0][0]
        self.site = bench.site.uuid
        # The fastest any endpoint can go, to size the single-use credentials a run needs.
        self.ceiling_rps = 0.0

    def run(
        self,
        *arguments: str,
        seconds: int,
        base: str = config.WEB_BASE,
        server_pid: int | None = None,
    ) -> Measurement:
        return wrk(
            *arguments,
            seconds=seconds,
            options=self.options,
            server_pids=[server_pid or self.web_pid],
            base=base,
        )

    def healthz(self, seconds: int) -> Measurement:
        result = self.run(BASELINE, "get.lua", seconds=seconds)
        self.ceiling_rps = max(self.ceiling_rps, result.rps)
        return result

    def single_use_grant(
        self, endpoint: str, form: str, credentials: CredentialFile, *, seconds: int
    ) -> Measurement:
        """A token request per credential, `form` followed by the credential, each sent
        once: enough credentials for the baseline's rate, with room to spare."""
        count = math.ceil(self.ceiling_rps * seconds * 1.5) + self.options.connections + 100
        path = credentials(
            self.bench, count=count, path=self.work_dir / f"grant-{uuid.uuid4().hex}.txt"
        )
        result = self.run(
            TOKEN_PATH,
            "token_grant.lua",
            self.bench.basic,
            form,
            str(path),
            str(self.options.wrk_threads),
            seconds=seconds,
        )
        if result.requests + self.options.connections >= count:
            raise SystemExit(
                f"The {endpoint} run used up its {count} credentials: raise the margin."
            )
        return result

    def token_refresh(self, seconds: int) -> Measurement:
        return self.single_use_grant(
            TOKEN_REFRESH, REFRESH_FORM, refresh_token_file, seconds=seconds
        )

    def code_exchange(self, seconds: int) -> Measurement:
        # Written right before the run: codes live AUTHORIZATION_CODE_EXPIRE_SECONDS.
        return self.single_use_grant(CODE_EXCHANGE, CODE_FORM, code_file, seconds=seconds)

    def subscription_get(self, seconds: int) -> Measurement:
        path = f"/piesync/subscription/{self.site}/"
        return self.run(path, "get.lua", self.bearer, seconds=seconds)

    def subscription_put(self, seconds: int) -> Measurement:
        body = json.dumps({"url": config.RECEIVER_URL, "secret": config.SUBSCRIPTION_SECRET})
        path = f"/piesync/subscription/{self.site}/"
        return self.run(path, "put_json.lua", self.bearer, body, seconds=seconds)

    def subscription_put_public(self, seconds: int) -> Measurement:
        """The PUT of a public URL, whose host the second gunicorn resolves (stubbed) and
        checks. The subscription points to the receiver again before this returns, once
        that server has answered every request: no lead is ever created meanwhile, and
        no delivery may ever be sent to the stub's address."""
        if self.stub_web_pid is None:
            raise SystemExit(f"{SUBSCRIPTION_PUT_PUBLIC} needs the DNS stub's gunicorn.")
        body = json.dumps({"url": config.PUBLIC_HOOK_URL, "secret": config.SUBSCRIPTION_SECRET})
        path = f"/piesync/subscription/{self.site}/"
        try:
            return self.run(
                path,
                "put_json.lua",
                self.bearer,
                body,
                seconds=seconds,
                base=config.STUB_WEB_BASE,
                server_pid=self.stub_web_pid,
            )
        finally:
            stack.drain(config.STUB_WEB_PORT)
            receiver_subscribe(self.bench)

    def lead_create(self, seconds: int) -> Measurement:
        if not receiver_subscribed(self.bench):
            raise SystemExit("The bench subscription must point to the receiver for leads.")
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
            CODE_EXCHANGE: self.code_exchange,
            SUBSCRIPTION_GET: self.subscription_get,
            SUBSCRIPTION_PUT: self.subscription_put,
            SUBSCRIPTION_PUT_PUBLIC: self.subscription_put_public,
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
