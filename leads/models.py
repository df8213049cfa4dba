from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from core.ids import uuid7
from sites.models import Site
from subscriptions.models import Subscription

# Reference §2.1: the contact fields shared by the Incoming and Outgoing APIs.
CONTACT_FIELDS = (
    "source",
    "source_details",
    "email",
    "second_email",
    "first_name",
    "last_name",
    "phone",
    "phone2",
    "address",
    "street_address",
    "city",
    "state",
    "zip",
    "role",
    "region",
    "agent_name",
    "agent_email",
)


class Role(models.TextChoices):
    BUYER = "Buyer"
    SELLER = "Seller"
    BUYER_AND_SELLER = "Buyer and Seller", "Buyer and Seller"
    RENTER = "Renter"
    # Set only by the potential-seller endpoint (someone who used the home-valuation tool).
    POTENTIAL_SELLER = "Potential Seller"


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Looked up by the (site, -created) index; one on the site alone would only cost writes.
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="leads", db_index=False)
    source = models.CharField(max_length=255)
    source_details = models.TextField(blank=True)
    email = models.EmailField(max_length=254, blank=True)
    second_email = models.EmailField(max_length=254, blank=True)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    phone2 = models.CharField(max_length=64, blank=True)
    address = models.CharField(max_length=500, blank=True)
    street_address = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=255, blank=True)
    zip = models.CharField(max_length=32, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    region = models.CharField(max_length=255, blank=True)
    agent_name = models.CharField(max_length=255, blank=True)
    agent_email = models.EmailField(max_length=254, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["site", "-created"])]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or str(self.id)


class Activity(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    type = models.CharField(max_length=64)
    source = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    property = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.type} ({self.source})"


class Action(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"


class LeadEvent(models.Model):
    """A committed lead change; its body bytes are fixed here, so every retry sends the same."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    body = models.BinaryField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.action} · {self.lead}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    IGNORED = "ignored", "Delivered, ignored (406)"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Delivery(models.Model):
    """One event sent to one subscription: the delivery log an admin reads."""

    # Sent as X-Lead-Router-Message-Id: stable across retries.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event = models.ForeignKey(LeadEvent, on_delete=models.CASCADE, related_name="deliveries")
    # Looked up by the (subscription, state) index, as for Lead.site.
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.SET_NULL,
        null=True,
        related_name="deliveries",
        db_index=False,
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="deliveries")
    action = models.CharField(max_length=16, choices=Action.choices)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_snippet = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["subscription", "state"]),
            models.Index(fields=["state", "finished"]),
            # The pending ones alone, for the queue gauges (selectors.delivery_queue_stats:
            # the oldest is the first entry) and the backlog counters' check
            # (services.delivery_backlogs_repair), without reading their rows.
            models.Index(
                fields=["created"],
                include=["subscription"],
                condition=models.Q(state="pending"),
                name="leads_delivery_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        """E.g. "created · Jack Johnson → PieSync (delivered)": what an admin recognises."""
        partner = self.subscription.application.name if self.subscription else "no subscription"
        return f"{self.action} · {self.lead} → {partner} ({self.state})"


class DeliveryBacklog(models.Model):
    """How many of a subscription's deliveries are pending: what a new one is checked
    against (DELIVERY_MAX_PENDING_PER_SUBSCRIPTION) in one row, however long the queue.

    Changed only in the statement or transaction that makes deliveries pending or takes
    them out of it (leads/queries.sql, leads/delivery/queries.sql), so it never drifts;
    the periodic recovery checks it against the rows all the same. No row: none pending.
    """

    subscription = models.OneToOneField(
        Subscription, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    pending = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.pending} pending for {self.subscription_id}"


class DeliveryHour(models.Model):
    """One subscription's finished deliveries in one hour (by `finished`), for the delivery
    health page: counts by outcome, and the commit → answer latency of those received
    (delivered and ignored) as counts per bucket of leads.rollups.LATENCY_BOUNDS.

    Written only by services.delivery_hours_refresh, from the deliveries; never by the
    delivery path. `subscription` has no database constraint: a deleted subscription's
    past hours stay counted in the totals (its recent deliveries, set to no subscription,
    move to the no-subscription row when their hours are recounted).
    """

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    hour = models.DateTimeField()
    delivered = models.IntegerField(default=0)
    ignored = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    latency = ArrayField(models.IntegerField())

    class Meta:
        constraints = [
            # Hour first: the page reads a window of hours across subscriptions.
            models.UniqueConstraint(
                fields=["hour", "subscription"],
                nulls_distinct=False,
                name="leads_deliveryhour_hour_subscription_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} · subscription {self.subscription_id}"


class DeliveryHoursRefresh(models.Model):
    """When the hourly rollups were last recounted (one row): what the health page shows
    as their freshness, and where the next recount starts when runs were missed."""

    refreshed = models.DateTimeField()

    def __str__(self) -> str:
        return f"delivery hours refreshed {self.refreshed:%Y-%m-%d %H:%M:%S}"


class DeliveryHealth(Delivery):
    """The delivery health page's entry in the admin (leads/admin.py): a proxy, so that it
    is listed on the admin index beside the delivery log; it has no rows of its own."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "delivery health"
