"""django-oauth-toolkit's admin for our swapped models, with the site shown.

DOT registers its admin classes for the swapped models when its app loads (it is
listed before ours); we replace them with subclasses that add the site.
"""

from django.contrib import admin
from oauth2_provider import admin as dot_admin

from .models import AccessToken, Application, Connection, Grant, RefreshToken

for model in (Application, AccessToken, Grant, RefreshToken):
    admin.site.unregister(model)


@admin.register(Application)
class ApplicationAdmin(dot_admin.ApplicationAdmin):
    list_display = ["name", "client_id", "client_type", "authorization_grant_type", "created"]
    search_fields = ["name", "client_id"]


@admin.register(AccessToken)
class AccessTokenAdmin(dot_admin.AccessTokenAdmin):
    list_display = ["pk", "masked_token", "site", "application", "user", "expires"]
    list_filter = ["application"]
    list_select_related = ["site", "application", "user"]
    search_fields = ["site__domain", "=site__uuid", "user__username"]
    raw_id_fields = ["user", "site", "source_refresh_token", "id_token", "application"]


@admin.register(RefreshToken)
class RefreshTokenAdmin(dot_admin.RefreshTokenAdmin):
    list_display = ["pk", "masked_token", "site", "application", "user", "created", "revoked"]
    list_filter = ["application", ("revoked", admin.EmptyFieldListFilter)]
    list_select_related = ["site", "application", "user"]
    search_fields = ["site__domain", "=site__uuid", "user__username"]
    raw_id_fields = ["user", "site", "access_token", "application"]


@admin.register(Grant)
class GrantAdmin(dot_admin.GrantAdmin):
    list_display = ["pk", "masked_code", "site", "application", "user", "expires", "consumed"]
    list_filter = ["application"]
    list_select_related = ["site", "application", "user"]
    search_fields = ["site__domain", "user__username"]
    raw_id_fields = ["user", "site", "application"]


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    list_display = ["site", "application", "connected_by", "created"]
    list_filter = ["application"]
    list_select_related = ["site", "application", "connected_by"]
    search_fields = ["site__domain", "=site__uuid", "application__name"]
    raw_id_fields = ["site", "application", "connected_by"]
