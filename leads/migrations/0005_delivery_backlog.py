"""Backlog counters per subscription (leads.DeliveryBacklog), filled from the pending
deliveries; and a partial index on the pending deliveries, for the queue gauges.

The index is built CONCURRENTLY, so deliveries go on being written meanwhile: hence no
transaction around this migration. What the previous release makes pending or finishes
between the counters' filling and its replacement is not counted: the periodic recovery
(leads.tasks.repair_delivery_backlogs) corrects that within a run.
"""

import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0004_choice_labels"),
        ("subscriptions", "0003_subscription_deactivated_at_and_reason"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeliveryBacklog",
            fields=[
                (
                    "subscription",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="subscriptions.subscription",
                    ),
                ),
                ("pending", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(
            sql="""
                INSERT INTO leads_deliverybacklog (subscription_id, pending)
                SELECT subscription_id, count(*) FROM leads_delivery
                WHERE state = 'pending' AND subscription_id IS NOT NULL
                GROUP BY subscription_id
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("state", "pending")),
                fields=["created"],
                include=("subscription",),
                name="leads_delivery_pending_idx",
            ),
        ),
    ]
