"""Django's and the libraries' settings, from the environment (docs/configuration.md).
`REALGEEKS_MODE` is `local` for `make run` and the tests, else `production`, which has no
default secret key and refuses DEBUG, plain-http cookies and non-loopback http redirect
URIs. Our apps declare their own settings in their conf.py (core/conf.py)."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_values(names: str) -> dict[str, str]:
    """Those of the (whitespace-separated) variables that are set, unparsed."""
    return {name: env.str(name) for name in names.split() if name in env}


REALGEEKS_MODE = env.str("REALGEEKS_MODE", default="production")
if REALGEEKS_MODE not in ("local", "production"):
    raise ImproperlyConfigured("REALGEEKS_MODE must be 'local' or 'production'.")
LOCAL_MODE = REALGEEKS_MODE == "local"

if LOCAL_MODE:
    SECRET_KEY = env.str("SECRET_KEY", default="local-only-insecure-key-" + "x" * 40)
    DEBUG = env.bool("DEBUG", default=True)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the environment when REALGEEKS_MODE is production "
            "(the default); use REALGEEKS_MODE=local for a local run."
        )
    DEBUG = env.bool("DEBUG", default=False)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "core",
    "sites",
    "oauth_provider",
    "subscriptions",
    "procrastinate.contrib.django",
    "leads",
    "axes",
    "ratelimits",
]

MIDDLEWARE = [
    "core.middleware.HeadWithoutBodyMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    "core.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.JsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, user and messages middleware, skipped on the API paths.
    "core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.AuthenticationMiddleware",
    "core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lockout into the 429 login page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "realgeeks.urls"
WSGI_APPLICATION = "realgeeks.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL through psycopg 3, with Django's built-in connection pool.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/realgeeks"),
}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# psycopg prepares a statement on its first run, but only from the cursors that
# core.db.prepared_cursor makes: Django's own bind parameters client-side and never prepare.
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
DATABASES["default"]["OPTIONS"]["pool"] = {
    "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
    "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
    "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}Validator"}
    for name in ("UserAttributeSimilarity", "MinimumLength", "CommonPassword", "NumericPassword")
]
# Users keep Django's default; the client-secret hasher is chosen only by OAUTH2_PROVIDER.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "oauth_provider.hashers.ClientSecretHasher",
]

# django-axes refuses a locked-out login before Django's own backend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "oauth_provider:connected-apps"
LOGOUT_REDIRECT_URL = "login"

TIME_ZONE = "UTC"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Serve app static files straight from the apps in local mode, without collectstatic.
WHITENOISE_USE_FINDERS = LOCAL_MODE
WHITENOISE_AUTOREFRESH = LOCAL_MODE
if LOCAL_MODE:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Security: production serves over https behind a TLS-terminating proxy.
SESSION_COOKIE_SECURE = not LOCAL_MODE
CSRF_COOKIE_SECURE = not LOCAL_MODE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not LOCAL_MODE)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if LOCAL_MODE else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not LOCAL_MODE
# `preload` on an apex domain: see docs/operations.md (deploy checks) first.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not LOCAL_MODE)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("TRUST_X_FORWARDED_PROTO", default=not LOCAL_MODE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Login lockout (django-axes, database handler; docs/security.md): failures per username
# and address, counted outside a lockout only; core's check wants both values positive.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# One resolver of the client's address for axes and the rate limits (no django-ipware).
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    # request.data: strict JSON, whatever the Content-Type (core.negotiation picks it).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJsonParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # OPTIONS: 200 with `Allow`, no content.
    "DEFAULT_METADATA_CLASS": "core.metadata.AllowHeaderOnlyMetadata",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Real Geeks PieSync API",
    "DESCRIPTION": (
        "The partner API PieSync uses to connect to a Real Geeks site: OAuth2 "
        "authorization, and the site's webhook subscription."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oauth_provider.openapi_paths.add_oauth_endpoints",
    ],
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth_provider.Application"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth_provider.Grant"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth_provider.IDToken"

OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "oauth_provider.validators.SiteOAuth2Validator",
    # authorization_code and refresh_token grants only, PKCE S256 only.
    "OAUTH2_SERVER_CLASS": "oauth_provider.server.Server",
    "SCOPES": {
        "leadrouter:connect": "Manage where this site's new and updated leads are sent",
        "leadrouter:send": "Send new leads and lead activity to this site",
    },
    "DEFAULT_SCOPES": ["leadrouter:connect", "leadrouter:send"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": env.int("OAUTH_CODE_EXPIRE_SECONDS", default=60),
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS", default=3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_EXPIRE_SECONDS", default=7776000),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # PKCE_REQUIRED keeps its default; the validator decides per client (docs/decisions.md).
    "CLIENT_SECRET_HASHER": "client_secret_sha256",
    "REQUEST_APPROVAL_PROMPT": "force",
    # Outside local mode, http only for loopback redirect URIs (docs/operations.md).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if LOCAL_MODE else ["https"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # An http redirect URI scheme outside local mode: a deploy-check error (oauth2_provider.E003).
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": not LOCAL_MODE,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# Our apps' settings: the names <app>/conf.py declares, with their defaults and meaning.
CORE = env_values("""TRUSTED_PROXY_COUNT CLIENT_IP_HEADER LOGIN_ACCESS_LOG_DAYS
    READYZ_WORKER_HEARTBEAT_MAX_AGE METRICS_TOKEN METRICS_ENABLED""")
RATELIMITS = env_values("""RATE_LIMIT_TOKEN_PER_CLIENT RATE_LIMIT_TOKEN_PER_IP
    RATE_LIMIT_INCOMING_API_PER_CLIENT RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP""")
SUBSCRIPTIONS = env_values("SUBSCRIPTION_SECRET_KEYS WEBHOOK_ALLOW_PRIVATE_NETWORKS")
LEADS = env_values("""LEAD_PAYLOAD_MAX_ACTIVITIES DELIVERY_RETENTION_DAYS DELIVERY_TOTAL_TIMEOUT
    INCOMING_API_MAX_BODY_BYTES LEAD_REQUEST_MAX_ACTIVITIES DELIVERY_MAX_PENDING_PER_SUBSCRIPTION
    LEAD_MAX_ACTIVITIES DELIVERY_MAX_IN_FLIGHT_PER_SUBSCRIPTION WORKER_DATABASE_POOL_MAX_SIZE
    DELIVERY_RECOVERY_CRON DELIVERY_RETRY_SCHEDULE JOB_RETENTION_HOURS DELIVERY_CONNECT_TIMEOUT""")

PROCRASTINATE_ON_APP_READY = "leads.worker_app.on_app_ready"
PROCRASTINATE_WORKER_DEFAULTS = {
    # Deliveries wait on partners, not the CPU: six partners may hang on 5 slots each.
    "concurrency": env.int("WORKER_CONCURRENCY", default=30),
    # A job waiting behind a finished job with the same lock is not woken by NOTIFY: poll.
    "fetch_job_polling_interval": env.float("WORKER_POLLING_INTERVAL", default=0.5),
    "shutdown_graceful_timeout": env.float("WORKER_SHUTDOWN_TIMEOUT", default=30.0),
    "update_heartbeat_interval": env.float("WORKER_HEARTBEAT_INTERVAL", default=10.0),
    # A worker silent this long is presumed dead: leads.tasks.recover_stalled_jobs requeues.
    "stalled_worker_timeout": env.float("DELIVERY_STALLED_AFTER_SECONDS", default=30.0),
}

# One JSON object per line in production (LOG_FORMAT=json), readable text in local mode.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if LOCAL_MODE else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # DOT logs redirect-URI mismatches and client ids at DEBUG; keep it at INFO.
        "oauth2_provider": {"level": "INFO"},
        # procrastinate announces every task and periodic registration at INFO.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
        # axes announces itself at INFO in every process, management commands included.
        "axes.apps": {"level": "WARNING"},
    },
}
