from django.urls import path

from . import views

# Under rest/ (realgeeks/urls.py), as the `leadrouter` client builds them (reference
# §4.4); no trailing slash.
urlpatterns = [
    path("sites/<str:site_uuid>/leads", views.LeadsView.as_view(), name="leads"),
    path("sites/<str:site_uuid>/leads/<str:lead_id>", views.LeadView.as_view(), name="lead"),
    path(
        "sites/<str:site_uuid>/leads/<str:lead_id>/activities",
        views.ActivitiesView.as_view(),
        name="lead-activities",
    ),
    path(
        "sites/<str:site_uuid>/potential-seller-leads",
        views.PotentialSellerLeadsView.as_view(),
        name="potential-seller-leads",
    ),
]
