"""bench.profile_web: py-spy's samples split by layer, the innermost frame that names one
deciding."""

from bench.profile_web import OTHER, split, table

HANDLE = "ThreadWorker.handle (gunicorn/workers/gthread.py:281)"
DJANGO = "BaseHandler.get_response (django/core/handlers/base.py:140)"
VIEW = "LeadsView.post (leads/views.py:107)"
SERVICE = "lead_create (leads/services.py:75)"
SEND = "BaseCursor._send_query_prepared (psycopg/_cursor_base.py:583)"


def test_a_sample_goes_to_the_layer_of_its_innermost_frame_that_names_one():
    samples = split(
        [
            f"{HANDLE};{DJANGO};{VIEW};{SERVICE};{SEND} 5",
            f"{HANDLE};{DJANGO};{VIEW};{SERVICE} 2",
            f"{HANDLE};{DJANGO};{VIEW};deepcopy (copy.py:128) 1",
            f"{HANDLE};Response.write (gunicorn/http/wsgi.py:346) 3",
            "Thread._bootstrap (threading.py:1002);select (selectors.py:468) 1",
        ]
    )

    assert samples == {
        "psycopg: adapting parameters, sending, reading rows": 5,
        "the service and its statement's parameters": 2,
        # leads/views.py names no layer: the frame above it does.
        "Django: handler, request and response objects": 1,
        "gunicorn: HTTP parsing, writing, access log": 3,
        OTHER: 1,
    }


def test_the_table_gives_each_endpoints_shares_in_a_column_largest_first():
    profiles = {
        "lead create": split([f"{HANDLE};{SEND} 3", f"{HANDLE} 1"]),
        "subscription GET": split([f"{HANDLE} 1"]),
    }

    assert table(profiles).splitlines() == [
        "| layer | lead create | subscription GET |",
        "|---|--:|--:|",
        "| gunicorn: HTTP parsing, writing, access log | 25% | 100% |",
        "| psycopg: adapting parameters, sending, reading rows | 75% | 0% |",
    ]
