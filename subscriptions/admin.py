from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString

from core.admin_ui import ADMIN_CSS, truncated

from .models import DEACTIVATED_BY_STAFF, MAX_SECRET_LENGTH, Subscription
from .url_policy import MAX_URL_LENGTH, UnsafeURL, check_webhook_url


class SubscriptionForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs
    """The same URL rules as the API, so staff cannot point deliveries at our network.

    The secret is write-only here: never shown, stored encrypted, kept when left blank.
    """

    url = forms.URLField(max_length=MAX_URL_LENGTH, assume_scheme="https")
    secret = forms.CharField(
        max_length=MAX_SECRET_LENGTH,
        strip=False,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown. Leave blank to keep the current secret.",
    )

    class Meta:
        model = Subscription
        fields = ["site", "application", "url", "secret", "active"]

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data["secret"]
        if secret and not secret.strip():
            raise forms.ValidationError("This field cannot be blank.")  # as the API says
        if not secret and self.instance.pk is None:
            raise forms.ValidationError("This field is required.")
        return secret

    def save(self, commit: bool = True) -> Subscription:
        if self.cleaned_data["secret"]:
            self.instance.secret = self.cleaned_data["secret"]
        if "active" in self.changed_data:
            self.instance.deactivated_at = None if self.instance.active else timezone.now()
            self.instance.deactivated_reason = "" if self.instance.active else DEACTIVATED_BY_STAFF
        subscription: Subscription = super().save(commit=commit)
        return subscription

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            check_webhook_url(url)
        except UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    form = SubscriptionForm
    list_display = [
        "site_domain",
        "application",
        "webhook_url",
        "masked_secret",
        "active",
        "updated",
    ]
    list_filter = ["active", "application"]
    list_select_related = ["site", "application"]
    search_fields = ["site__domain", "url", "=site__uuid"]
    raw_id_fields = ["site", "application"]
    readonly_fields = ["deactivated_at", "deactivated_reason", "created", "updated"]
    actions = ["deactivate", "activate"]

    class Media:
        css = {"all": [ADMIN_CSS]}

    @admin.display(description="site", ordering="site__domain")
    def site_domain(self, subscription: Subscription) -> SafeString:
        return truncated(subscription.site.domain)

    @admin.display(description="URL", ordering="url")
    def webhook_url(self, subscription: Subscription) -> SafeString:
        return truncated(subscription.url)

    @admin.display(description="secret")
    def masked_secret(self, subscription: Subscription) -> str:
        return "•" * 8

    @admin.action(description="Deactivate selected subscriptions")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        count = queryset.update(
            active=False, deactivated_at=timezone.now(), deactivated_reason=DEACTIVATED_BY_STAFF
        )
        self.message_user(request, f"Deactivated {count} subscription(s).", messages.SUCCESS)

    @admin.action(description="Activate selected subscriptions")
    def activate(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        count = queryset.update(active=True, deactivated_at=None, deactivated_reason="")
        self.message_user(request, f"Activated {count} subscription(s).", messages.SUCCESS)
