"""WSGI entry point for gunicorn: `gunicorn realgeeks.wsgi`.

Each worker process runs the system checks first, the apps' settings checks among them,
and refuses to serve with an error, as `manage.py procrastinate worker` does."""

import os

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realgeeks.settings")

application = get_wsgi_application()

if errors := [str(message) for message in checks.run_checks() if message.is_serious()]:
    raise ImproperlyConfigured("System check identified some issues:\n" + "\n".join(errors))
