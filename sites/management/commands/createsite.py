from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from sites.services import site_create


class Command(BaseCommand):
    help = "Create a site owned by an existing user and print its UUID."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", required=True, help="username of the owner")
        parser.add_argument("--domain", required=True, help="e.g. www.example.com")
        parser.add_argument("--name", default="", help="display name (defaults to the domain)")

    def handle(self, *args: object, owner: str, domain: str, name: str, **options: object) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(username=owner)
        except user_model.DoesNotExist as exc:
            raise CommandError(f"No user with the username {owner!r}.") from exc
        try:
            site = site_create(owner=user, domain=domain, name=name)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(str(site.uuid))
