from oauth_provider.models import Application
from sites.models import Site

from .models import Subscription


def subscription_for(*, site: Site, application: Application) -> Subscription | None:
    try:
        return Subscription.objects.get(site=site, application=application)
    except Subscription.DoesNotExist:
        return None
