from django.contrib import admin

from .models import Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    list_display = ["domain", "name", "owner", "uuid", "created"]
    search_fields = ["domain", "name", "owner__username", "owner__email", "=uuid"]
    list_select_related = ["owner"]
    readonly_fields = ["uuid", "created", "updated"]
    autocomplete_fields = ["owner"]
