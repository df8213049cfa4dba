"""Row locks taken by lead writes: only the lead itself, never its site."""

import threading

import pytest
from django.db import connection, transaction

from leads import services
from leads.models import Lead

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = {"source": "Zillow", "first_name": "Ada"}


def test_updating_one_lead_does_not_block_another_lead_of_the_same_site(site):
    first = Lead.objects.create(site=site, **FIELDS)
    second = Lead.objects.create(site=site, **FIELDS)
    first_locked, release = threading.Event(), threading.Event()

    def hold_first_lead() -> None:
        try:
            with transaction.atomic():
                services.lead_update(site=site, lead_id=first.pk, changes={"first_name": "A"})
                first_locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_lead)
    holder.start()
    try:
        assert first_locked.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            services.lead_update(site=site, lead_id=second.pk, changes={"first_name": "B"})
    finally:
        release.set()
        holder.join()

    assert Lead.objects.get(pk=second.pk).first_name == "B"
