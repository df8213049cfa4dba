from datetime import timedelta

from django.utils import timezone

from oauth_provider.models import AccessToken
from oauth_provider.tasks import clear_expired_tokens
from tests.factories import issue_access_token


def test_clear_expired_tokens_deletes_expired_access_tokens_only(site, application):
    issue_access_token(site=site, application=application, expires_in=-60)
    issue_access_token(site=site, application=application)

    clear_expired_tokens(timestamp=int(timezone.now().timestamp()))

    assert AccessToken.objects.count() == 1
    assert AccessToken.objects.get().expires > timezone.now() + timedelta(minutes=50)
