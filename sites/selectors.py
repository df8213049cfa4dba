import uuid

from django.contrib.auth.models import User
from django.db.models import QuerySet

from .models import Site


def sites_owned_by(*, user: User) -> QuerySet[Site]:
    return Site.objects.filter(owner=user).order_by("domain")


def site_owned_by(*, user: User, site_uuid: str) -> Site | None:
    """The user's site with this UUID, or None for a malformed UUID or someone else's site."""
    try:
        parsed = uuid.UUID(str(site_uuid))
    except ValueError:
        return None
    return Site.objects.filter(owner=user, uuid=parsed).first()
