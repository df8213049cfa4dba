"""Re-encrypt every subscription secret with the first key of SUBSCRIPTION_SECRET_KEYS,
so the keys after it can be removed (docs/operations.md, "Subscription secrets at rest")."""

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions.services import subscription_secrets_rotate


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Re-encrypt every subscription secret with the first SUBSCRIPTION_SECRET_KEYS key, "
        "in batches. Safe to run again: secrets already on the first key are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=500,
            help="Rows per transaction (locked while they are re-encrypted). Default 500.",
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        after_pk, rotated, current, unreadable = 0, 0, 0, []
        while True:
            batch = subscription_secrets_rotate(after_pk=after_pk, batch_size=batch_size)
            if batch.last_pk is None:
                break
            after_pk = batch.last_pk
            rotated += batch.rotated
            current += batch.current
            unreadable += batch.unreadable
            self.stdout.write(
                f"up to subscription {after_pk}: {batch.rotated} re-encrypted, "
                f"{batch.current} already on the first key, {len(batch.unreadable)} unreadable"
            )
        self.stdout.write(
            f"Done: {rotated} re-encrypted, {current} already on the first key, "
            f"{len(unreadable)} unreadable."
        )
        if unreadable:
            raise CommandError(
                f"No key in SUBSCRIPTION_SECRET_KEYS decrypts the secret of subscription(s) "
                f"{', '.join(map(str, unreadable))}: put back the key they were encrypted "
                "with and run this again, or have the partner PUT the subscription again."
            )
