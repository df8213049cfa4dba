"""Keep the planner's statistics on procrastinate_jobs fresh.

The fetch query walks todo jobs in priority order and stops at the first runnable one
(0.2 ms), but only when the planner knows there are many: with statistics taken while
the queue was empty it checks every todo job instead (13 ms with 1,500 queued, measured),
and one worker then tops out near 75 deliveries/s. A backlog appears in bursts (a
partner comes back after an outage), so analyze this table after 1% of it changes
rather than PostgreSQL's default 10%.
"""

from django.db import migrations

SETTINGS = (
    "autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 200, "
    "autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 500"
)


class Migration(migrations.Migration):
    dependencies = [("leads", "0002_procrastinate_jobs_lock_index")]

    operations = [
        migrations.RunSQL(
            sql=f"ALTER TABLE procrastinate_jobs SET ({SETTINGS})",
            reverse_sql=(
                "ALTER TABLE procrastinate_jobs RESET (autovacuum_analyze_scale_factor, "
                "autovacuum_analyze_threshold, autovacuum_vacuum_scale_factor, "
                "autovacuum_vacuum_threshold)"
            ),
        )
    ]
