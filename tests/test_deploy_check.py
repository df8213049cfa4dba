"""`manage.py check --deploy` with production settings, run as a deployment would."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks.security.sessions import (
    check_session_cookie_httponly,
    check_session_cookie_secure,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Never inherited from the environment the tests run in.
PRODUCTION_SETTINGS = {
    "REALGEEKS_MODE",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SUBSCRIPTION_SECRET_KEYS",
}


def production_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_SETTINGS}
    env.update(
        REALGEEKS_MODE="production",
        SECRET_KEY=secrets.token_urlsafe(45),  # 60 characters
        ALLOWED_HOSTS="rg.example.com",
        SUBSCRIPTION_SECRET_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/realgeeks"),
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_reports_no_issues_in_production_mode():
    # RFC 9700 warnings from django-oauth-toolkit (oauth2_provider.W00x) included.
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_mode_without_a_secret_key_does_not_start():
    env = production_env()
    del env["SECRET_KEY"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_with_an_empty_secret_key_does_not_start():
    result = manage("check", env=production_env(SECRET_KEY=""))

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_without_allowed_hosts_does_not_start():
    env = production_env()
    del env["ALLOWED_HOSTS"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("DEBUG", "False"),
        ("SESSION_COOKIE_SECURE", "True"),
        ("CSRF_COOKIE_SECURE", "True"),
        ("SECURE_SSL_REDIRECT", "True"),
        ("OAUTH2_PROVIDER['ALLOWED_REDIRECT_URI_SCHEMES']", "['https']"),
    ],
)
def test_production_mode_settings(setting, expected):
    code = f"from django.conf import settings; print(settings.{setting})"

    result = manage("shell", "-c", code, env=production_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_an_insecure_session_cookie_is_reported_whatever_session_middleware(settings):
    """MIDDLEWARE has core.middleware's SessionMiddleware, which Django's check does not
    recognize by path: the check still reports the cookie, on the sessions app."""
    settings.SESSION_COOKIE_SECURE = False
    settings.SESSION_COOKIE_HTTPONLY = False

    found = check_session_cookie_secure(None) + check_session_cookie_httponly(None)

    assert [warning.id for warning in found] == ["security.W010", "security.W013"]
