"""Receivers of the signals of the apps below this one (connected in apps.py)."""

from typing import Any

from oauth_provider.models import Application
from sites.models import Site

from .services import subscription_delete


def delete_subscription_of_disconnected_app(
    sender: object, *, site: Site, application: Application, **kwargs: Any
) -> None:
    """A disconnected application's subscription goes with its tokens, in the same
    transaction: the site stops sending it leads."""
    subscription_delete(site=site, application=application)
