from django.urls import re_path

from .views import SubscriptionView

# The contract's path ends with "/"; the form without it is served too, because a
# redirect would turn a PUT into a GET and drop its body.
urlpatterns = [
    re_path(
        r"^piesync/subscription/(?P<site_uuid>[^/]+)/?$",
        SubscriptionView.as_view(),
        name="subscription",
    ),
]
