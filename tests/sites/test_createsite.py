"""`manage.py createsite --owner USERNAME --domain DOMAIN [--name NAME]`."""

import re
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sites.models import Site
from tests.factories import SiteFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def createsite(*args: str) -> str:
    out = StringIO()
    call_command("createsite", *args, stdout=out)
    return out.getvalue()


def test_createsite_prints_the_new_sites_uuid(user):
    output = createsite("--owner", user.username, "--domain", "www.example.com")

    site_uuid = uuid.UUID(output.strip())
    site = Site.objects.get(uuid=site_uuid)
    assert site.domain == "www.example.com"
    assert site.owner == user


def test_createsite_prints_nothing_but_the_uuid(user):
    output = createsite("--owner", user.username, "--domain", "www.example.com")

    assert output == f"{Site.objects.get().uuid}\n"


def test_createsite_stores_the_name(user):
    createsite("--owner", user.username, "--domain", "www.example.com", "--name", "Aloha Homes")

    assert Site.objects.get().name == "Aloha Homes"


def test_createsite_names_the_site_after_its_domain_by_default(user):
    createsite("--owner", user.username, "--domain", "www.example.com")

    assert Site.objects.get().name == "www.example.com"


def test_createsite_normalises_the_domain(user):
    createsite("--owner", user.username, "--domain", "  WWW.Example.COM ")

    assert Site.objects.get().domain == "www.example.com"


def test_a_user_can_own_several_sites(user):
    createsite("--owner", user.username, "--domain", "one.example.com")
    createsite("--owner", user.username, "--domain", "two.example.com")

    assert list(user.sites.values_list("domain", flat=True)) == [
        "one.example.com",
        "two.example.com",
    ]


def test_unknown_owner_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No user with the username 'nobody'"):
        createsite("--owner", "nobody", "--domain", "www.example.com")

    assert not Site.objects.exists()


def test_duplicate_domain_is_a_clear_error(user):
    SiteFactory.create(domain="www.example.com")

    with pytest.raises(CommandError, match=re.escape("'www.example.com' already exists")):
        createsite("--owner", user.username, "--domain", "www.example.com")

    assert Site.objects.count() == 1


def test_duplicate_domain_differing_in_case_is_a_clear_error(user):
    SiteFactory.create(domain="www.example.com")

    with pytest.raises(CommandError, match="already exists"):
        createsite("--owner", user.username, "--domain", "WWW.EXAMPLE.COM")

    assert Site.objects.count() == 1


def test_blank_domain_is_a_clear_error(user):
    with pytest.raises(CommandError, match="needs a domain"):
        createsite("--owner", user.username, "--domain", "   ")

    assert not Site.objects.exists()


def test_owner_and_domain_are_required(db):
    with pytest.raises(CommandError, match="--owner"):
        createsite("--domain", "www.example.com")
