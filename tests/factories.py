import factory
from django.contrib.auth.models import User

from oauth_provider.models import Application
from sites.models import Site
from subscriptions.models import Subscription

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)


class SiteFactory(factory.django.DjangoModelFactory[Site]):
    class Meta:
        model = Site

    domain = factory.Sequence(lambda n: f"www.site{n}.example.com")
    name = factory.Sequence(lambda n: f"Site {n}")
    owner = factory.SubFactory(UserFactory)


CLIENT_SECRET = "piesync-client-secret-" + "s" * 40
REDIRECT_URI = "https://api.piesync.test/v1/realgeeks/callback"


class ApplicationFactory(factory.django.DjangoModelFactory[Application]):
    class Meta:
        model = Application

    name = "PieSync"
    client_id = factory.Sequence(lambda n: f"piesync-{n}")
    client_secret = CLIENT_SECRET
    client_type = Application.CLIENT_CONFIDENTIAL
    authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    redirect_uris = REDIRECT_URI


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    """Takes the plaintext `secret` (a property of the model): django-stubs refuses a
    property in `SubscriptionFactory.create()` (typeddjango/django-stubs#1034)."""

    class Meta:
        model = Subscription


def issue_access_token(
    *,
    site: Site,
    application: Application,
    scope: str = "leadrouter:connect leadrouter:send",
    expires_in: int = 3600,
) -> str:
    """A live access token for `site`, stored as the token endpoint would; returns its value."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import set_token_value

    from oauth_provider.models import AccessToken

    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=site.owner,
        site=site,
        application=application,
        scope=scope,
        expires=timezone.now() + timedelta(seconds=expires_in),
    )
    set_token_value(token, raw)
    token.save()
    return raw
