"""Subscriptions: where a site's lead events are delivered (see the Subscription API)."""
