"""What `subscriptions` tells the apps above it (they connect; this app imports none)."""

from django.dispatch import Signal

# Sent inside `subscription_delete`'s transaction, with the subscription locked and still
# present, as `subscription_id=`: whatever waits to be delivered to it is cancelled by the
# receivers (leads), committed or rolled back with the deletion.
subscription_deleting = Signal()
