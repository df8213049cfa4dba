"""`/metrics` itself: who may scrape it, in local and production mode, and the request
metrics every route gets. Each app's own metrics are tested beside it
(tests/<app>/test_metrics.py); tests/leads/test_metrics_worker.py scrapes a real
gunicorn in multiprocess mode after a real worker delivered.
"""

import subprocess
import uuid

import pytest
from django.test import Client

from tests.metrics import METRICS, REQUESTS, parse, scrape, scrape_text, value
from tests.test_deploy_check import manage, production_env

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

TOKEN = "metrics-scrape-token-" + "t" * 32

# protection


def test_local_mode_without_a_token_serves_the_text_exposition():
    response = Client().get(METRICS)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    assert "# TYPE realgeeks_deliveries_total counter" in response.content.decode()


def test_with_a_token_set_a_scrape_without_it_is_refused(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS)

    assert response.status_code == 401
    assert response.json() == {"error": "Missing metrics token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_with_a_token_set_a_wrong_token_is_refused(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Bearer " + TOKEN[:-1] + "x")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid metrics token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics", error="invalid_token"'


def test_with_a_token_set_another_scheme_is_refused(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Basic " + TOKEN)

    assert response.status_code == 401


def test_with_a_token_set_the_right_token_is_served(knobs):
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Bearer " + TOKEN)

    assert response.status_code == 200
    assert "realgeeks_delivery_queue_depth" in response.content.decode()


def test_disabled_metrics_answer_404_even_with_the_token(knobs):
    knobs.METRICS_ENABLED = False
    knobs.METRICS_TOKEN = TOKEN

    response = Client().get(METRICS, HTTP_AUTHORIZATION="Bearer " + TOKEN)

    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_a_post_is_refused_with_405():
    response = Client().post(METRICS)

    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}
    assert response["Allow"] == "GET, HEAD"


PRODUCTION_SCRAPE = (
    "from django.test import Client; "
    "r = Client().get('/metrics', secure=True, HTTP_HOST='rg.example.com'); "
    "print(r.status_code, r.content.decode())"
)


def production_scrape(**env: str) -> subprocess.CompletedProcess[str]:
    return manage("shell", "--no-imports", "-c", PRODUCTION_SCRAPE, env=production_env(**env))


def test_production_without_a_token_answers_404():
    result = production_scrape()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '404 {"error": "Not Found"}'


def test_production_with_a_token_requires_it():
    result = production_scrape(METRICS_TOKEN=TOKEN)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '401 {"error": "Missing metrics token"}'


def test_production_refuses_to_start_with_metrics_forced_on_without_a_token():
    result = manage("check", env=production_env(METRICS_ENABLED="true"))

    assert result.returncode != 0
    assert "METRICS_ENABLED in production needs METRICS_TOKEN" in result.stderr


# ---------------------------------------------------------------------------
# request latency


def test_a_request_is_counted_under_its_route_name_method_and_status():
    before = scrape()

    assert Client().get("/healthz").status_code == 200

    after = scrape()
    labels = {"route": "healthz", "method": "GET", "status": "200"}
    assert value(after, REQUESTS, **labels) == value(before, REQUESTS, **labels) + 1


def test_a_path_under_a_route_is_labelled_with_the_route_never_the_path():
    site_uuid = uuid.uuid4().hex
    before = scrape()

    response = Client().get(f"/rest/sites/{site_uuid}/leads")

    text = scrape_text()
    labels = {"route": "leads", "method": "GET", "status": str(response.status_code)}
    assert value(parse(text), REQUESTS, **labels) == value(before, REQUESTS, **labels) + 1
    assert site_uuid not in text


def test_paths_no_route_matches_share_one_label():
    before = scrape()

    for _ in range(2):
        assert Client().get(f"/no/such/{uuid.uuid4().hex}").status_code == 404

    text = scrape_text()
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(parse(text), REQUESTS, **labels) == value(before, REQUESTS, **labels) + 2
    assert "/no/such/" not in text


def test_an_unknown_method_is_labelled_other():
    before = scrape()

    response = Client().generic("BREW", "/healthz")

    after = scrape()
    labels = {"route": "healthz", "method": "other", "status": str(response.status_code)}
    assert value(after, REQUESTS, **labels) == value(before, REQUESTS, **labels) + 1
