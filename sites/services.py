from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from core.errors import Conflict, Unprocessable

from .models import Site


def site_create(*, owner: User, domain: str, name: str = "") -> Site:
    domain = domain.strip().lower()
    if not domain:
        raise Unprocessable("A site needs a domain.")
    try:
        with transaction.atomic():
            return Site.objects.create(owner=owner, domain=domain, name=name.strip() or domain)
    except IntegrityError as exc:
        raise Conflict(f"A site with the domain {domain!r} already exists.") from exc
