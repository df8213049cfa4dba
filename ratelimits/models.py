from django.db import models


class RateLimitWindow(models.Model):
    """How many requests were counted under `key` in the fixed window ending at `window_end`.

    The table is UNLOGGED (migration 0001): counters are written on every limited request,
    and a crash that empties them only resets the limits.
    """

    pk = models.CompositePrimaryKey("key", "window_end")
    key = models.CharField(max_length=255)
    window_end = models.DateTimeField()
    hits = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.key} until {self.window_end:%Y-%m-%d %H:%M:%S}: {self.hits}"
