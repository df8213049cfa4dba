"""The worker's queries (leads/delivery/queries.py, queries.sql); they run in
test_attempt.py."""

import re

from leads.delivery.queries import QUERIES, load_queries, storable
from leads.models import Delivery, DeliveryBacklog, LeadEvent
from subscriptions.models import Subscription


def test_text_postgresql_cannot_store_is_escaped():
    assert storable("a\x00b") == "a\\x00b"
    assert storable("lone \udc80 surrogate") == "lone \\udc80 surrogate"
    assert storable("plain ☃") == "plain ☃"


def test_named_queries_are_read_by_name_without_their_comments():
    text = (
        "-- The file's own comment.\n\n"
        "-- first --\n-- What it is for.\nSELECT 1;\n\n"
        "-- second --\nUPDATE t\nSET a = %(a)s;\n"
    )

    assert load_queries(text) == {"first": "SELECT 1;", "second": "UPDATE t\nSET a = %(a)s;"}


def test_the_queries_name_only_the_models_tables():
    named = {
        name
        for query in QUERIES.values()
        for name in re.findall(r"\b(?:FROM|JOIN|UPDATE)\s+(\w+)", query)
    }
    common_table_expressions = {
        name for query in QUERIES.values() for name in re.findall(r"(\w+) AS \(", query)
    }

    assert named - common_table_expressions == {
        Delivery._meta.db_table,
        DeliveryBacklog._meta.db_table,
        LeadEvent._meta.db_table,
        Subscription._meta.db_table,
    }
