"""A partial index on procrastinate_jobs(lock) for jobs still to run.

procrastinate's fetch query checks, for each candidate job, whether an earlier job
holds its lock; without this index that is a scan per candidate, and fetching slows
quadratically with a backlog waiting behind locks (procrastinate issue 1242).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0001_initial"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS procrastinate_jobs_lock_todo_doing_idx "
                "ON procrastinate_jobs (lock) WHERE status IN ('todo', 'doing')"
            ),
            reverse_sql="DROP INDEX IF EXISTS procrastinate_jobs_lock_todo_doing_idx",
        )
    ]
