import dataclasses
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from oauth_provider.models import Application
from sites.models import Site

from .crypto import SecretUnreadable, encrypt_secret, reencrypted_secret
from .models import Subscription
from .signals import subscription_deleting
from .url_policy import UnsafeURL, check_webhook_url, has_lone_surrogate

MAX_SECRET_LENGTH = 255


def validate_subscription_fields(data: dict[str, Any]) -> tuple[str, str]:
    """The (url, secret) of a PUT body, or a 422 naming each invalid field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for field in ("url", "secret"):
        value = data.get(field)
        if value is None:
            errors[field] = ["This field is required."]
        elif not isinstance(value, str):
            errors[field] = ["Must be a string."]
        elif not value.strip():
            errors[field] = ["This field cannot be blank."]
        else:
            values[field] = value
    if "url" in values:
        try:
            check_webhook_url(values["url"])
        except UnsafeURL as exc:
            errors["url"] = [str(exc)]
    secret = values.get("secret")
    if secret is not None and len(secret) > MAX_SECRET_LENGTH:
        errors["secret"] = [f"Ensure this field has no more than {MAX_SECRET_LENGTH} characters."]
    elif secret is not None and "\x00" in secret:
        errors["secret"] = ["Null characters are not allowed."]  # PostgreSQL cannot store NUL
    elif secret is not None and has_lone_surrogate(secret):
        errors["secret"] = ["Enter valid Unicode text."]  # not encodable as UTF-8
    if errors:
        raise DomainError("Invalid fields", status=422, fields=errors)
    return values["url"], values["secret"]


@transaction.atomic
def subscription_put(
    *, site: Site, application: Application, url: str, secret: str
) -> Subscription:
    """Create the subscription, or replace its URL and secret in place, and (re)activate it.

    One `INSERT ... ON CONFLICT DO UPDATE`, so concurrent PUTs never collide on the
    unique constraint; the row keeps its identity, so pending deliveries follow it. Only
    the encrypted secret is written.
    """
    now = timezone.now()
    subscription = Subscription(
        site=site,
        application=application,
        url=url,
        secret_encrypted=encrypt_secret(secret),
        active=True,
        deactivated_at=None,
        deactivated_reason="",
        created=now,
        updated=now,
    )
    Subscription.objects.bulk_create(
        [subscription],
        update_conflicts=True,
        unique_fields=["site", "application"],
        update_fields=[
            "url",
            "secret_encrypted",
            "active",
            "deactivated_at",
            "deactivated_reason",
            "updated",
        ],
    )
    return subscription


@transaction.atomic
def subscription_delete(*, site: Site, application: Application) -> None:
    """Delete it; the receivers of `subscription_deleting` (leads) cancel what is still
    waiting to be delivered to it.

    Locked first: an event being recorded for it holds it until commit (leads' event
    recording locks it), so that event's delivery is committed, and cancelled here; an
    event recorded after this commits finds no subscription to deliver to.
    """
    subscription = (
        Subscription.objects.select_for_update().filter(site=site, application=application).first()
    )
    if subscription is None:
        return
    subscription_deleting.send(sender=Subscription, subscription_id=subscription.pk)
    subscription.delete()


@transaction.atomic
def subscription_deactivate(*, subscription_id: int, reason: str) -> bool:
    """Stop deliveries to it, saying why (GET shows the partner since when and why);
    whether it still exists. One UPDATE of those columns, not a read then a save: a PUT
    committed meanwhile keeps its URL and secret."""
    now = timezone.now()
    updated = Subscription.objects.filter(pk=subscription_id).update(
        active=False, deactivated_at=now, deactivated_reason=reason, updated=now
    )
    return updated > 0


@dataclasses.dataclass
class SecretRotation:
    """What one batch of `subscription_secrets_rotate` did."""

    last_pk: int | None = None  # None: no rows after `after_pk`, the rotation is done
    rotated: int = 0
    current: int = 0
    unreadable: list[int] = dataclasses.field(default_factory=list)


@transaction.atomic
def subscription_secrets_rotate(*, after_pk: int, batch_size: int) -> SecretRotation:
    """Re-encrypt, with the first of SUBSCRIPTION_SECRET_KEYS, the secrets of the next
    `batch_size` subscriptions by id after `after_pk`; those already on it are left alone.

    The batch's rows are locked, so a concurrent PUT waits instead of having its new
    secret overwritten by the re-encrypted old one.
    """
    rows = list(
        Subscription.objects.select_for_update()
        .filter(pk__gt=after_pk)
        .order_by("pk")
        .values_list("pk", "secret_encrypted")[:batch_size]
    )
    result = SecretRotation(last_pk=rows[-1][0] if rows else None)
    changed = []
    for pk, token in rows:
        try:
            rotated = reencrypted_secret(token)
        except SecretUnreadable:
            result.unreadable.append(pk)
            continue
        if rotated is None:
            result.current += 1
        else:
            changed.append(Subscription(pk=pk, secret_encrypted=rotated))
    result.rotated = Subscription.objects.bulk_update(changed, ["secret_encrypted"])
    return result
