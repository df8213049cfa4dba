"""Subscription secrets encrypted at rest: `secret` (plaintext) becomes `secret_encrypted`
(a Fernet token with the first of SUBSCRIPTION_SECRET_KEYS). Reversible while the key
that encrypted the rows is still configured."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import migrations, models

from subscriptions.conf import app_settings

BATCH_SIZE = 500


def keys() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in app_settings.SUBSCRIPTION_SECRET_KEYS])


def encrypt_existing(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    fernet = keys()
    batch = []
    for subscription in Subscription.objects.only("pk", "secret").iterator(chunk_size=BATCH_SIZE):
        subscription.secret_encrypted = fernet.encrypt(subscription.secret.encode()).decode()
        batch.append(subscription)
        if len(batch) == BATCH_SIZE:
            Subscription.objects.bulk_update(batch, ["secret_encrypted"])
            batch = []
    Subscription.objects.bulk_update(batch, ["secret_encrypted"])


def decrypt_existing(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    fernet = keys()
    batch, unreadable = [], []
    for subscription in Subscription.objects.only("pk", "secret_encrypted").iterator(
        chunk_size=BATCH_SIZE
    ):
        try:
            subscription.secret = fernet.decrypt(subscription.secret_encrypted.encode()).decode()
        except InvalidToken:
            unreadable.append(subscription.pk)
            continue
        batch.append(subscription)
        if len(batch) == BATCH_SIZE:
            Subscription.objects.bulk_update(batch, ["secret"])
            batch = []
    if unreadable:
        raise RuntimeError(
            f"Subscriptions {unreadable}: no key in SUBSCRIPTION_SECRET_KEYS decrypts their "
            "secret; restore the key before migrating back."
        )
    Subscription.objects.bulk_update(batch, ["secret"])


class Migration(migrations.Migration):

    dependencies = [
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="secret_encrypted",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        # A default only so that migrating back can re-add the column to existing rows.
        migrations.AlterField(
            model_name="subscription",
            name="secret",
            field=models.CharField(max_length=255, default=""),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing, elidable=False),
        migrations.RemoveField(
            model_name="subscription",
            name="secret",
        ),
    ]
