"""Demo data for `make run`: created once, printed every time."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from oauth_provider.models import Application
from sites.models import Site
from sites.services import site_create

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 (local mode only)
DEMO_DOMAINS = [("www.demo-homes.com", "Demo Homes"), ("www.demo-condos.com", "Demo Condos")]
DEMO_CLIENT_ID = "piesync-demo"
DEMO_CLIENT_SECRET = "piesync-demo-secret"  # noqa: S105 (local mode only)
DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"


class Command(BaseCommand):
    help = "Create the local demo user, sites and PieSync client once, and print how to use them."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: object, base_url: str, **options: object) -> None:
        if not settings.LOCAL_MODE:
            raise CommandError("Demo data has well-known passwords; it is for local mode only.")
        with transaction.atomic():
            self._create_once()
        query = urlencode(
            {
                "client_id": DEMO_CLIENT_ID,
                "response_type": "code",
                "redirect_uri": DEMO_REDIRECT_URI,
                "scope": "leadrouter:connect leadrouter:send",
                "state": "demo-state",
            }
        )
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Demo data (local mode only):",
                    f"  log in:        {base_url}/account/login/",
                    f"  username:      {DEMO_USERNAME}",
                    f"  password:      {DEMO_PASSWORD}",
                    f"  admin:         {base_url}/admin/  (same login)",
                    f"  client id:     {DEMO_CLIENT_ID}",
                    f"  client secret: {DEMO_CLIENT_SECRET}",
                    f"  redirect URI:  {DEMO_REDIRECT_URI}",
                    f"  authorize:     {base_url}/piesync/oauth/authorize/?{query}",
                    "",
                ]
            )
        )

    def _create_once(self) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"email": "demo@example.com", "is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        for domain, name in DEMO_DOMAINS:
            if not Site.objects.filter(domain=domain).exists():
                site_create(owner=user, domain=domain, name=name)
        if not Application.objects.filter(client_id=DEMO_CLIENT_ID).exists():
            Application.objects.create(
                name="PieSync (demo)",
                client_id=DEMO_CLIENT_ID,
                client_secret=DEMO_CLIENT_SECRET,
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=DEMO_REDIRECT_URI,
                user=user,
            )
