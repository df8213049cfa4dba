"""The web and the worker refuse to start with an invalid configuration: each gunicorn
worker imports realgeeks.wsgi, which runs the system checks; `manage.py procrastinate
worker` runs them as every management command does."""

import subprocess
import sys

from tests.test_deploy_check import BASE_DIR, manage, production_env

INVALID = {"METRICS_ENABLED": "true", "RATE_LIMIT_TOKEN_PER_IP": "often"}


def test_the_web_application_refuses_an_invalid_configuration():
    result = subprocess.run(
        [sys.executable, "-c", "import realgeeks.wsgi"],
        cwd=BASE_DIR,
        env=production_env(**INVALID),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: System check identified some issues" in result.stderr
    assert "(core.E002) METRICS_ENABLED in production needs METRICS_TOKEN." in result.stderr
    assert "(ratelimits.E001) RATE_LIMIT_TOKEN_PER_IP: must look like" in result.stderr


def test_the_web_application_loads_a_valid_configuration():
    code = "import realgeeks.wsgi; print('loaded')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"


def test_the_worker_refuses_an_invalid_configuration():
    result = manage("procrastinate", "worker", env=production_env(**INVALID))

    assert result.returncode != 0
    assert "SystemCheckError" in result.stderr
    assert "(core.E002) METRICS_ENABLED in production needs METRICS_TOKEN." in result.stderr
