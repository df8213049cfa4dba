import uuid
from datetime import datetime
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.safestring import SafeString

from core.admin_ui import ADMIN_CSS, BlankNullJSONField, json_block, truncated

from . import (
    admin_health,  # noqa: F401  (registers the delivery health page, which the log links to)
    services,
)
from .models import CONTACT_FIELDS, Activity, Delivery, Lead


class UUIDSearchMixin:
    """A search term that is a UUID, with or without dashes, finds rows by `uuid_search_fields`.

    Not through search_fields' `=id`: on PostgreSQL that is `UPPER(id::text) = ...`, which
    misses the dashless form partners see and scans the whole table for every search.
    """

    uuid_search_fields: tuple[str, ...] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        found, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return found, may_have_duplicates
        by_uuid = Q()
        for field in self.uuid_search_fields:
            by_uuid |= Q(**{field: value})
        return found | queryset.filter(by_uuid), may_have_duplicates


class ActivityFormSet(BaseInlineFormSet):  # type: ignore[type-arg]  # generic only in the stubs
    def clean(self) -> None:
        """The activity caps as a form error; the service checks them again under the
        lead's lock when the form is saved."""
        super().clean()
        adding = len(
            [
                form
                for form in self.forms
                if form.has_changed()
                and form.instance._state.adding
                and not form.cleaned_data.get("DELETE", False)
            ]
        )
        lead = None if self.instance._state.adding else self.instance
        message = services.activities_cap_message(adding=adding, lead=lead)
        if message is not None:
            raise ValidationError(message)


class ActivityForm(ModelForm):  # type: ignore[type-arg]  # generic only in the stubs
    class Meta:
        model = Activity
        fields = ["type", "source", "description", "property", "created"]
        field_classes = {"property": BlankNullJSONField}
        # One short row per activity; a box grows when dragged.
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 36}),
            "property": forms.Textarea(attrs={"rows": 2, "cols": 28}),
        }


class ActivityInline(admin.TabularInline):  # type: ignore[type-arg]  # generic only in the stubs
    model = Activity
    form = ActivityForm
    formset = ActivityFormSet
    extra = 0


@admin.register(Lead)
class LeadAdmin(UUIDSearchMixin, admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    """Saves go through the lead services, so an admin edit is an event like any other."""

    list_display = ["name", "short_email", "site_domain", "role", "source", "created"]
    list_filter = ["role", "site"]
    list_select_related = ["site"]
    search_fields = ["email", "first_name", "last_name", "phone", "site__domain"]
    uuid_search_fields = ("id",)
    raw_id_fields = ["site"]
    readonly_fields = ["id", "created", "updated"]
    inlines = [ActivityInline]
    # Related fields side by side: the whole lead, with its activities, on about one screen.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("id", "site"),
                    ("source", "source_details"),
                    ("role", "region"),
                    ("created", "updated"),
                ]
            },
        ),
        (
            "Contact",
            {
                "fields": [
                    ("first_name", "last_name"),
                    ("email", "second_email"),
                    ("phone", "phone2"),
                    ("address", "street_address"),
                    ("city", "state", "zip"),
                ]
            },
        ),
        ("Agent", {"fields": [("agent_name", "agent_email")]}),
    ]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})}}

    class Media:
        css = {"all": [ADMIN_CSS]}

    @admin.display(description="lead")
    def name(self, lead: Lead) -> SafeString:
        return truncated(str(lead))

    @admin.display(description="email", ordering="email")
    def short_email(self, lead: Lead) -> SafeString:
        return truncated(lead.email)

    @admin.display(description="site", ordering="site__domain")
    def site_domain(self, lead: Lead) -> SafeString:
        return truncated(lead.site.domain)

    def delete_model(self, request: HttpRequest, obj: Lead) -> None:
        services.leads_delete(lead_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        """Through the service, which takes their pending deliveries out of the backlogs."""
        services.leads_delete(lead_ids=list(queryset.values_list("pk", flat=True)))

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> list[str]:
        # A lead never moves to another site.
        return [*self.readonly_fields, "site"] if obj else self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: Lead, form: "ModelForm[Lead]", change: bool
    ) -> None:
        """Deferred to save_related: the lead is saved there through the services, together
        with the activities added inline in the same form, so the event's body has them."""

    def save_related(
        self,
        request: HttpRequest,
        form: "ModelForm[Lead]",
        formsets: "list[BaseInlineFormSet[Any, Lead, Any]]",
        change: bool,
    ) -> None:
        lead: Lead = form.instance
        added: list[services.ActivityData] = []
        for formset in formsets:
            if formset.model is not Activity:
                continue
            # Fills new_objects, changed_objects and deleted_objects; saves nothing.
            formset.save(commit=False)
            for activity in formset.deleted_objects:
                activity.delete()
            for activity, _ in formset.changed_objects:
                activity.save()
            added = [
                services.ActivityData(
                    type=activity.type,
                    source=activity.source,
                    description=activity.description,
                    property=activity.property,
                    created=activity.created,
                )
                for activity in formset.new_objects
            ]
        fields = {
            name: form.cleaned_data[name] for name in CONTACT_FIELDS if name in form.cleaned_data
        }
        if change:
            changes = {name: value for name, value in fields.items() if name in form.changed_data}
            services.lead_update(site=lead.site, lead_id=lead.pk, changes=changes, activities=added)
        else:
            # An inline formset clears a new parent's default pk, so take the created one.
            created = services.lead_create(
                site=form.cleaned_data["site"], fields=fields, lead_id=lead.pk, activities=added
            )
            lead.pk = created.pk
            lead.created, lead.updated = created.created, created.updated
            lead._state.adding = False
            lead._state.db = created._state.db
        form.save_m2m()
        for formset in formsets:
            if formset.model is not Activity:
                self.save_formset(request, form, formset, change=change)


@admin.register(Delivery)
class DeliveryAdmin(UUIDSearchMixin, admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    """The delivery log: why a partner is (not) receiving, at a glance."""

    list_display = [
        "created",
        "action",
        "lead_name",
        "partner",
        "state",
        "attempts",
        "status",
        "short_error",
        "next_attempt",
    ]
    list_filter = ["state", "action", "subscription__application", "last_status_code", "created"]
    search_fields = ["subscription__url", "subscription__site__domain"]
    uuid_search_fields = ("id", "lead_id", "event_id")
    date_hierarchy = "created"
    actions = ["redeliver"]
    fields: ClassVar[tuple[str, ...]] = (
        "id",
        "event",
        "action",
        "lead",
        "subscription",
        "state",
        "attempts",
        "last_status_code",
        "last_error",
        "response_snippet",
        "next_attempt_at",
        "created",
        "updated",
        "finished",
        "body",
    )
    readonly_fields = fields

    class Media:
        css = {"all": [ADMIN_CSS]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        # What the list's columns and the change view's title (Delivery.__str__) name; not
        # the event, whose body only the change view shows.
        return (
            super()
            .get_queryset(request)
            .select_related("lead", "subscription__site", "subscription__application")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    @admin.display(description="lead")
    def lead_name(self, delivery: Delivery) -> SafeString:
        return truncated(str(delivery.lead))

    @admin.display(description="partner", ordering="subscription__application__name")
    def partner(self, delivery: Delivery) -> SafeString | None:
        """The lead column already says whose site; the tooltip has the webhook URL."""
        subscription = delivery.subscription
        if subscription is None:
            return None
        return truncated(
            subscription.application.name, title=f"{subscription.site.domain} → {subscription.url}"
        )

    # `status` and `next_attempt`: the fields under shorter headers, so that the log's
    # columns fit a 1280 px screen (tests/leads/test_admin_browser.py).
    @admin.display(description="HTTP", ordering="last_status_code")
    def status(self, delivery: Delivery) -> int | None:
        return delivery.last_status_code

    @admin.display(description="last error")
    def short_error(self, delivery: Delivery) -> SafeString:
        return truncated(delivery.last_error)

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery: Delivery) -> datetime | None:
        return delivery.next_attempt_at

    @admin.display(description="body (as sent, indented)")
    def body(self, delivery: Delivery) -> SafeString:
        return json_block(bytes(delivery.event.body))

    @admin.action(description="Redeliver selected deliveries (same body and message id)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        # Pending ones too: the service queues those whose job ended without them.
        ids = list(queryset.values_list("pk", flat=True))
        count = services.deliveries_redeliver(delivery_ids=ids)
        self.message_user(request, f"Queued {count} deliveries again.", messages.SUCCESS)
