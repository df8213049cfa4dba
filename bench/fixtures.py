"""The bench's own site, partner application and subscription, made through the
project's services and models, as the OAuth flow and the Subscription API would."""

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import set_token_value
from oauth2_provider.settings import oauth2_settings

from oauth_provider.models import AccessToken, Application, Grant, RefreshToken
from oauth_provider.services import connection_record
from sites.models import Site
from sites.services import site_create
from subscriptions.models import Subscription
from subscriptions.services import subscription_put

from . import config

SCOPE = "leadrouter:connect leadrouter:send"


@dataclass(frozen=True)
class Bench:
    site: Site
    application: Application

    @property
    def basic(self) -> str:
        pair = f"{config.CLIENT_ID}:{config.CLIENT_SECRET}".encode()
        return "Basic " + base64.b64encode(pair).decode()


@transaction.atomic
def bench_create() -> Bench:
    """A site connected to a confidential client, subscribed to the loopback receiver."""
    owner = get_user_model().objects.create_user(username="bench", password=None)
    site = site_create(owner=owner, domain="bench.example.com", name="Bench Realty")
    application = Application.objects.create(
        name="Bench partner",
        client_id=config.CLIENT_ID,
        client_secret=config.CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=config.REDIRECT_URI,
    )
    connection_record(site=site, application=application, user_id=owner.pk)
    bench = Bench(site=site, application=application)
    receiver_subscribe(bench)
    return bench


def receiver_subscribe(bench: Bench) -> None:
    """The bench subscription pointed to the loopback receiver (allowed: the bench process
    runs with WEBHOOK_ALLOW_PRIVATE_NETWORKS)."""
    subscription_put(
        site=bench.site,
        application=bench.application,
        url=config.RECEIVER_URL,
        secret=config.SUBSCRIPTION_SECRET,
    )


def receiver_subscribed(bench: Bench) -> bool:
    return Subscription.objects.filter(
        site=bench.site, application=bench.application, url=config.RECEIVER_URL
    ).exists()


def token_pairs_issue(bench: Bench, *, count: int) -> list[tuple[str, str]]:
    """The raw (access token, refresh token) of `count` live token pairs for the bench
    site, each its own family, as `count` code exchanges would leave them: stored by
    the models, as checksums only."""
    site, application = bench.site, bench.application
    expires = timezone.now() + timedelta(seconds=oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
    pairs = [(secrets.token_urlsafe(30), secrets.token_urlsafe(30)) for _ in range(count)]
    access_tokens, refresh_tokens = [], []
    for access, refresh in pairs:
        access_token = AccessToken(
            user=site.owner, site=site, application=application, scope=SCOPE, expires=expires
        )
        set_token_value(access_token, access)
        access_tokens.append(access_token)
        refresh_token = RefreshToken(
            user=site.owner,
            site=site,
            application=application,
            access_token=access_token,
            token_family=uuid.uuid4(),
        )
        set_token_value(refresh_token, refresh)
        refresh_tokens.append(refresh_token)
    with transaction.atomic():
        AccessToken.objects.bulk_create(access_tokens, batch_size=1000)
        RefreshToken.objects.bulk_create(refresh_tokens, batch_size=1000)
    return pairs


def refresh_token_file(bench: Bench, *, count: int, path: Path) -> Path:
    """`count` fresh refresh tokens, one a line, for bench/lua/token_grant.lua."""
    pairs = token_pairs_issue(bench, count=count)
    path.write_text("".join(f"{refresh}\n" for _, refresh in pairs))
    return path


def code_file(bench: Bench, *, count: int, path: Path) -> Path:
    """`count` fresh authorization codes, one a line, for bench/lua/token_grant.lua: as
    the consent form leaves them (for the bench's confidential client, without PKCE),
    stored by the model. They expire AUTHORIZATION_CODE_EXPIRE_SECONDS from now."""
    site, application = bench.site, bench.application
    expires = timezone.now() + timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS)
    codes = [secrets.token_urlsafe(30) for _ in range(count)]
    Grant.objects.bulk_create(
        [
            Grant(
                user=site.owner,
                site=site,
                application=application,
                code=code,
                expires=expires,
                redirect_uri=config.REDIRECT_URI,
                scope=SCOPE,
            )
            for code in codes
        ],
        batch_size=1000,
    )
    path.write_text("".join(f"{code}\n" for code in codes))
    return path
