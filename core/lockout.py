"""The login lockout (django-axes) as a person sees it: the login page they were on,
saying that the account is locked and when to try again, with status 429.

axes refuses the login and flags the request; the login form shows the message in place
of "wrong password"; `AxesMiddleware` then hands the rendered page to `lockout_response`
(settings.AXES_LOCKOUT_CALLABLE), which sets the status and `Retry-After`.
"""

import math
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from axes.helpers import get_client_parameters, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db.models import Max, Q
from django.forms import CharField, Field
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import ngettext


def lockout_ends(request: HttpRequest) -> datetime:
    """When the lockout on this request's username and address ends: the cool-off after
    its last counted failure (failures while locked out are not counted)."""
    credentials = getattr(request, "axes_credentials", None)
    filters = get_client_parameters(
        get_client_username(request, credentials),
        request.axes_ip_address,  # type: ignore[attr-defined]
        request.axes_user_agent,  # type: ignore[attr-defined]
        request,
        credentials,
    )
    last = AccessAttempt.objects.filter(reduce(or_, (Q(**f) for f in filters))).aggregate(
        last=Max("attempt_time")
    )["last"]
    cool_off = get_cool_off(request)
    assert cool_off is not None  # settings.AXES_COOLOFF_TIME is always a timedelta
    return (last or timezone.now()) + cool_off


def seconds_until(moment: datetime) -> int:
    return max(1, math.ceil((moment - timezone.now()).total_seconds()))


def lockout_message(request: HttpRequest) -> str:
    ends = lockout_ends(request)
    minutes = math.ceil(seconds_until(ends) / 60)
    wait = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    return (
        "Too many failed login attempts: this account is temporarily locked. "
        f"Try again in {wait} (at {ends:%H:%M} UTC)."
    )


class LockoutMessageMixin:
    """Says "locked" rather than "wrong password" when axes refused the login."""

    request: HttpRequest | None

    def get_invalid_login_error(self) -> ValidationError:
        if self.request is not None and getattr(self.request, "axes_locked_out", False):
            return ValidationError(lockout_message(self.request), code="locked_out")
        error: ValidationError = super().get_invalid_login_error()  # type: ignore[misc]
        return error


class UsernameLengthMixin:
    """Refuses a username longer than the user model allows, as a form error.

    Django's AuthenticationForm sets the field's `max_length` after building it, so only
    the HTML attribute carries it; a longer name went on to authenticate() and into
    axes' attempt row (a 255-character column), a 500.
    """

    fields: dict[str, Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        assert isinstance(username, CharField) and username.max_length is not None
        username.validators.append(MaxLengthValidator(username.max_length))


class LoginForm(UsernameLengthMixin, LockoutMessageMixin, AuthenticationForm):
    pass


class AdminLoginForm(UsernameLengthMixin, LockoutMessageMixin, AdminAuthenticationForm):
    pass


def lockout_response(
    request: HttpRequest, original_response: HttpResponse, credentials: dict[str, str] | None
) -> HttpResponse:
    """The login page as rendered, with the lockout message, as a 429 (RFC 6585 §4) with
    `Retry-After` in seconds (RFC 9110 §10.2.3)."""
    original_response.status_code = 429
    original_response["Retry-After"] = str(seconds_until(lockout_ends(request)))
    return original_response
