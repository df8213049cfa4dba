"""The rate-limit counters, in an UNLOGGED table.

UNLOGGED: counters are updated on every limited request, and skipping the WAL makes each
update cheaper; a crash empties the table, which only resets the limits (and standbys
do not see it, which nothing needs). A fillfactor below 100 leaves room on each page so
that the count increments are HOT updates (no index change, no index bloat).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="RateLimitWindow",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "key",
                        "window_end",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("key", models.CharField(max_length=255)),
                ("window_end", models.DateTimeField()),
                ("hits", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(
            sql="ALTER TABLE ratelimits_ratelimitwindow SET UNLOGGED, SET (fillfactor = 50)",
            reverse_sql="ALTER TABLE ratelimits_ratelimitwindow SET LOGGED, RESET (fillfactor)",
        ),
    ]
