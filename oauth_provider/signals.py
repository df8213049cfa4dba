"""What `oauth_provider` tells the apps above it (they connect; this app imports none)."""

from django.dispatch import Signal

# Sent inside `connection_disconnect`'s transaction, once the application's tokens on the
# site are revoked, as `site=` and `application=`: the receivers (subscriptions) stop
# everything the application set up there.
connection_disconnecting = Signal()
