from typing import Any

from django import forms
from django.contrib.auth.models import User
from oauth2_provider.forms import AllowForm

from sites.models import Site
from sites.selectors import site_owned_by

from .models import Application


class SiteConsentForm(AllowForm):
    """django-oauth-toolkit's consent form, plus the site the user connects.

    The site comes only from this form and must belong to the logged-in user.
    """

    site = forms.CharField(required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.chosen_site: Site | None = None
        # Found from the validated client_id only: the raw value may hold what no query
        # can carry (PostgreSQL refuses U+0000).
        self.application: Application | None = None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        self.application = Application.objects.filter(client_id=cleaned.get("client_id")).first()
        if self.application is None:
            raise forms.ValidationError("This request is not from a registered application.")
        if cleaned.get("allow"):
            self.chosen_site = site_owned_by(user=self.user, site_uuid=cleaned.get("site", ""))
            if self.chosen_site is None:
                self.add_error("site", "Choose one of your sites to connect.")
        return cleaned
