"""The app's label leaves `sites` free for `django.contrib.sites`."""

from django.apps import AppConfig, apps


def test_the_label_does_not_clash_with_django_contrib_sites():
    ours = apps.get_app_config("customer_sites")
    contrib = AppConfig.create("django.contrib.sites")  # configured, not installed

    assert ours.name == "sites"
    assert ours.label != contrib.label
