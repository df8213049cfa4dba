"""The rate limits (core/conf.py): `<requests>/<period>`, the period s, m, h or d, or a
multiple such as 10s; `0` or empty disables one. Over a limit: 429 with Retry-After."""

from core.conf import AppSettings, Setting

from .rates import parse_rate


class RatelimitsSettings(AppSettings):
    namespace = "RATELIMITS"

    RATE_LIMIT_TOKEN_PER_CLIENT = Setting(
        parse_rate,
        default="1200/m",
        help="token requests per authenticated client ([security](security.md#rate-limits))",
    )
    RATE_LIMIT_TOKEN_PER_IP = Setting(
        parse_rate,
        default="1200/m",
        help="token requests per client address, authenticated or not",
    )
    RATE_LIMIT_INCOMING_API_PER_CLIENT = Setting(
        parse_rate,
        default="6000/m",
        help="Incoming Leads API requests per OAuth client (Basic credentials and its "
        "bearer tokens together)",
    )
    RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP = Setting(
        parse_rate,
        default="20/10m",
        help="failed client authentications per client address, on every endpoint that "
        "takes a client id and secret",
    )


app_settings = RatelimitsSettings()
