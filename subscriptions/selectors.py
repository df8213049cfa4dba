from oauth_provider.models import Application
from sites.models import Site

from .models import Subscription


def subscription_for(*, site: Site, application: Application) -> Subscription | None:
    return Subscription.objects.filter(site=site, application=application).first()
