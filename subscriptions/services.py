import dataclasses

from django.db import transaction
from django.utils import timezone

from core.db import prepared_cursor
from oauth_provider.models import Application
from sites.models import Site

from .crypto import SecretUnreadable, encrypt_secret, reencrypted_secret
from .models import Subscription
from .signals import subscription_deleting

# Keyed on subscription_one_per_site_application. `created` is kept on a replacement.
_UPSERT = """
    INSERT INTO subscriptions_subscription (site_id, application_id, url, secret_encrypted,
        active, deactivated_at, deactivated_reason, created, updated)
    VALUES (%(site)s, %(application)s, %(url)s, %(secret)s, true, NULL, '', %(now)s, %(now)s)
    ON CONFLICT (site_id, application_id) DO UPDATE SET url = EXCLUDED.url,
        secret_encrypted = EXCLUDED.secret_encrypted, active = true, deactivated_at = NULL,
        deactivated_reason = '', updated = EXCLUDED.updated"""


def subscription_put(*, site: Site, application: Application, url: str, secret: str) -> None:
    """Create the subscription, or replace its URL and secret in place, and (re)activate it.

    One `INSERT ... ON CONFLICT DO UPDATE`, so concurrent PUTs never collide on the
    unique constraint; the row keeps its identity, so pending deliveries follow it. Only
    the encrypted secret is written. Deliberately no transaction around it: one
    statement is atomic on its own, and BEGIN and COMMIT would be two more round trips
    (the ORM's `bulk_create` opens one).
    """
    with prepared_cursor() as cursor:
        cursor.execute(
            _UPSERT,
            {
                "site": site.pk,
                "application": application.pk,
                "url": url,
                "secret": encrypt_secret(secret),
                "now": timezone.now(),
            },
        )


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
