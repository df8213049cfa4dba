"""Bulk data for the large scales, written with set-based SQL straight into the tables.

The ORM would take an hour for a million leads; `INSERT ... SELECT generate_series`
takes seconds. Each seeded site looks like a customer PieSync is connected to: an owner,
a connection, a subscription, a live access and refresh token, and ten leads, each with
its `created` event and that event's delivered delivery (what the delivery log holds
for `DELIVERY_RETENTION_DAYS`).
"""

import time
from dataclasses import dataclass

from django.db import connection, transaction

from leads.models import Lead
from oauth_provider.models import Application
from sites.models import Site
from subscriptions.crypto import encrypt_secret

SEED_DOMAIN = ".seed.example.com"
LEADS_PER_SITE = 10


@dataclass(frozen=True)
class Seeded:
    sites: int  # seeded sites now in the database
    leads: int  # leads now in the database, the bench's own included
    seconds: float


def seed_to(*, sites: int, application: Application) -> Seeded:
    """Add seeded sites (with their rows) until there are `sites` of them."""
    started = time.monotonic()
    existing = Site.objects.filter(domain__endswith=SEED_DOMAIN).count()
    if sites > existing:
        _insert(first=existing + 1, last=sites, application=application)
        _settle()
    return Seeded(
        sites=Site.objects.filter(domain__endswith=SEED_DOMAIN).count(),
        leads=Lead.objects.count(),
        seconds=time.monotonic() - started,
    )


# In order; the sites just made are those with an id above %(after_site)s.
STATEMENTS = [
    """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
            is_staff, is_active, date_joined)
        SELECT '!', false, 'seed-' || i, '', '', 'seed-' || i || '@example.com', false, true,
            now()
        FROM generate_series(%(first)s::integer, %(last)s::integer) AS i""",
    """INSERT INTO customer_sites_site (uuid, domain, name, created, updated, owner_id)
        SELECT gen_random_uuid(), 'site-' || i || %(domain)s, 'Seed site ' || i, now(), now(),
            u.id
        FROM generate_series(%(first)s::integer, %(last)s::integer) AS i
        JOIN auth_user AS u ON u.username = 'seed-' || i""",
    """CREATE TEMPORARY TABLE new_site ON COMMIT DROP AS
        SELECT id, owner_id FROM customer_sites_site WHERE id > %(after_site)s""",
    """INSERT INTO oauth_provider_connection (created, updated, application_id,
            connected_by_id, site_id)
        SELECT now(), now(), %(application)s, owner_id, id FROM new_site""",
    """INSERT INTO subscriptions_subscription (url, secret_encrypted, active, created, updated,
            application_id, site_id)
        SELECT 'https://hooks.partner.example/realgeeks/' || id, %(secret)s, true, now(),
            now(), %(application)s, id
        FROM new_site""",
    """INSERT INTO oauth_provider_accesstoken (token, token_checksum, expires, scope,
            resource, created, updated, site_id, user_id, application_id)
        SELECT '', encode(sha256(('seed-access-' || id)::bytea), 'hex'),
            now() + interval '1 hour', 'leadrouter:connect leadrouter:send', '[]', now(),
            now(), id, owner_id, %(application)s
        FROM new_site""",
    """INSERT INTO oauth_provider_refreshtoken (token, token_checksum, token_family,
            resource, created, updated, access_token_id, application_id, site_id, user_id)
        SELECT '', encode(sha256(('seed-refresh-' || a.site_id)::bytea), 'hex'),
            gen_random_uuid(), '[]', now(), now(), a.id, a.application_id, a.site_id,
            a.user_id
        FROM oauth_provider_accesstoken AS a JOIN new_site AS s ON s.id = a.site_id""",
    """INSERT INTO leads_lead (id, source, source_details, email, second_email, first_name,
            last_name, phone, phone2, address, street_address, city, state, zip, role, region,
            agent_name, agent_email, created, updated, site_id)
        SELECT gen_random_uuid(), 'seed', '', 'lead-' || s.id || '-' || n || '@example.com',
            '', 'Pat', 'Lead ' || n, '808-555-0100', '', '', '1 Main St', 'Honolulu', 'HI',
            '96813', 'Buyer', '', '', '', now() - n * interval '1 day', now(), s.id
        FROM new_site AS s CROSS JOIN generate_series(1, %(leads_per_site)s::integer) AS n""",
    """INSERT INTO leads_leadevent (id, action, body, created, lead_id)
        SELECT gen_random_uuid(), 'created',
            convert_to(json_build_object('action', 'created',
                'id', replace(l.id::text, '-', ''), 'source', l.source, 'email', l.email,
                'first_name', l.first_name, 'last_name', l.last_name, 'phone', l.phone,
                'street_address', l.street_address, 'city', l.city, 'state', l.state,
                'zip', l.zip, 'role', l.role, 'created', l.created,
                'activities', json_build_array())::text, 'UTF8'),
            l.created, l.id
        FROM leads_lead AS l JOIN new_site AS s ON s.id = l.site_id""",
    """INSERT INTO leads_delivery (id, action, state, attempts, last_status_code, last_error,
            response_snippet, created, updated, finished, subscription_id, lead_id, event_id)
        SELECT gen_random_uuid(), 'created', 'delivered', 1, 200, '', '', e.created,
            e.created, e.created, sub.id, l.id, e.id
        FROM leads_leadevent AS e
        JOIN leads_lead AS l ON l.id = e.lead_id
        JOIN new_site AS s ON s.id = l.site_id
        JOIN subscriptions_subscription AS sub
            ON sub.site_id = s.id AND sub.application_id = %(application)s""",
]
TABLES = [
    "auth_user",
    "customer_sites_site",
    "oauth_provider_connection",
    "subscriptions_subscription",
    "oauth_provider_accesstoken",
    "oauth_provider_refreshtoken",
    "leads_lead",
    "leads_leadevent",
    "leads_delivery",
]


def _insert(*, first: int, last: int, application: Application) -> None:
    params: dict[str, int | str] = {
        "first": first,
        "last": last,
        "after_site": Site.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        "domain": SEED_DOMAIN,
        "application": application.pk,
        "leads_per_site": LEADS_PER_SITE,
        # Encrypted as the model stores it (one token for every row: it decrypts the same).
        "secret": encrypt_secret("seed-subscription-secret"),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Every row is consistent by construction: skip the per-row foreign-key triggers,
        # which would queue millions of deferred checks until commit.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL synchronous_commit = off")
        for statement in STATEMENTS:
            cursor.execute(statement, params)


def _settle() -> None:
    """What autovacuum would get to within minutes, done now rather than during a
    measurement: planner statistics, the visibility map, then a checkpoint."""
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("CHECKPOINT")
