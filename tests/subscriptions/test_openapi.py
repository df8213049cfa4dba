"""The published OpenAPI schema and the docs page PieSync's engineers code against."""

import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.test import Client
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

SUBSCRIPTION = "/piesync/subscription/{site_uuid}/"
TOKEN = "/piesync/oauth/token/"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/piesync/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def resolve(schema: dict, node: dict) -> dict:
    """`node`, or the component its `$ref` points to."""
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = schema["components"][kind][name]
    return node


def response_schema(schema: dict, method: str, status: int) -> dict:
    response = schema["paths"][SUBSCRIPTION][method]["responses"][str(status)]
    return resolve(schema, response["content"]["application/json"]["schema"])


def test_schema_is_served_as_json_without_credentials():
    response = Client().get("/piesync/schema/?format=json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert response.json()["openapi"].startswith("3.")


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 meta-schema

    assert schema["info"]["title"] == "Real Geeks PieSync API"


def test_schema_generation_has_no_warnings(tmp_path):
    """drf-spectacular's own check: `manage.py spectacular --validate --fail-on-warn`."""
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert SUBSCRIPTION in out.read_text()


def test_subscription_path_has_put_get_delete_and_nothing_else(schema):
    assert set(schema["paths"][SUBSCRIPTION]) - {"parameters"} == {"put", "get", "delete"}


def test_site_uuid_path_parameter_is_a_uuid(schema):
    for method in ("put", "get", "delete"):
        [parameter] = schema["paths"][SUBSCRIPTION][method]["parameters"]
        assert (parameter["name"], parameter["in"], parameter["required"]) == (
            "site_uuid",
            "path",
            True,
        )
        assert parameter["schema"] == {"type": "string", "format": "uuid"}


def test_put_documents_its_json_request_body(schema):
    body = schema["paths"][SUBSCRIPTION]["put"]["requestBody"]

    assert body["required"] is True
    request = resolve(schema, body["content"]["application/json"]["schema"])
    assert set(request["required"]) == {"url", "secret"}
    assert request["properties"]["url"]["maxLength"] == 2048
    assert request["properties"]["secret"]["maxLength"] == 255
    assert request["properties"]["secret"]["minLength"] == 1


@pytest.mark.parametrize("method", ["put", "get"])
def test_success_body_is_url_and_secret(schema, method):
    """Plus, only while the subscription is deactivated, since when and why."""
    body = response_schema(schema, method, 200)

    assert set(body["properties"]) == {
        "url",
        "secret",
        "active",
        "deactivated_at",
        "deactivated_reason",
    }
    assert set(body["required"]) == {"url", "secret"}


def test_delete_success_is_204_without_body(schema):
    response = schema["paths"][SUBSCRIPTION]["delete"]["responses"]["204"]

    assert "content" not in response


@pytest.mark.parametrize(
    ("method", "statuses"),
    [
        ("put", {200, 400, 401, 403, 404, 413, 422, 500}),
        ("get", {200, 401, 403, 404, 409, 500}),
        ("delete", {204, 401, 403, 404, 500}),
    ],
)
def test_every_documented_status_is_described(schema, method, statuses):
    responses = schema["paths"][SUBSCRIPTION][method]["responses"]

    assert {int(status) for status in responses} == statuses


@pytest.mark.parametrize(
    ("method", "status"),
    [
        ("put", 400),
        ("put", 401),
        ("put", 403),
        ("put", 404),
        ("put", 413),
        ("put", 500),
        ("get", 401),
        ("get", 403),
        ("get", 404),
        ("get", 409),
        ("get", 500),
        ("delete", 401),
        ("delete", 403),
        ("delete", 404),
        ("delete", 500),
    ],
)
def test_error_responses_are_json_objects_with_an_error_string(schema, method, status):
    body = response_schema(schema, method, status)

    assert body["properties"]["error"] == {"type": "string"}
    assert body["required"] == ["error"]


def test_validation_error_documents_fields(schema):
    body = response_schema(schema, "put", 422)

    assert set(body["required"]) == {"error", "fields"}
    assert body["properties"]["fields"]["additionalProperties"]["items"]["type"] == "string"


def test_examples_use_the_contracts_messages(schema):
    responses = schema["paths"][SUBSCRIPTION]["put"]["responses"]
    examples = {
        status: [e["value"] for e in r["content"]["application/json"]["examples"].values()]
        for status, r in responses.items()
        if "content" in r and "examples" in r["content"]["application/json"]
    }

    assert {"error": "Invalid JSON body"} in examples["400"]
    assert {"error": "Site not found"} in examples["404"]
    assert {
        "error": "Invalid fields",
        "fields": {"url": ["This field cannot be blank."]},
    } in examples["422"]
    get_404 = schema["paths"][SUBSCRIPTION]["get"]["responses"]["404"]["content"]
    assert {"error": "Subscription not found"} in [
        e["value"] for e in get_404["application/json"]["examples"].values()
    ]


def test_oauth2_security_scheme_lists_both_scopes(schema):
    schemes = schema["components"]["securitySchemes"]
    [scheme] = [s for s in schemes.values() if s["type"] == "oauth2"]
    flow = scheme["flows"]["authorizationCode"]

    assert flow["authorizationUrl"] == "/piesync/oauth/authorize/"
    assert flow["tokenUrl"] == TOKEN
    assert set(flow["scopes"]) == {"leadrouter:connect", "leadrouter:send"}


@pytest.mark.parametrize("method", ["put", "get", "delete"])
def test_subscription_operations_require_the_connect_scope(schema, method):
    [oauth] = [s for s in schema["components"]["securitySchemes"] if s != "clientBasic"]

    assert schema["paths"][SUBSCRIPTION][method]["security"] == [{oauth: ["leadrouter:connect"]}]


def test_token_endpoint_documents_site_uuid_and_site_domain(schema):
    token = schema["paths"][TOKEN]["post"]
    ok = resolve(schema, token["responses"]["200"]["content"]["application/json"]["schema"])

    assert {"access_token", "refresh_token", "token_type", "site_uuid", "site_domain"} <= set(
        ok["required"]
    )
    assert ok["properties"]["site_uuid"] == {"type": "string", "format": "uuid"}
    assert ok["properties"]["site_domain"]["type"] == "string"
    form = token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert {"grant_type", "code", "redirect_uri", "refresh_token"} <= set(form["properties"])


# --- docs page ---------------------------------------------------------------------------


class AssetCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


@pytest.fixture(scope="module")
def docs(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/piesync/docs/")
    collector = AssetCollector()
    collector.feed(response.content.decode())
    return response, collector.urls


def test_docs_page_renders_html(docs):
    response, _ = docs

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert 'url: "/piesync/schema/"' in response.content.decode()


def test_docs_page_uses_only_local_static_assets(docs):
    response, urls = docs

    assert urls
    assert all(url.startswith("/static/") for url in urls), urls
    assert not re.search(r"https?://", response.content.decode())


def test_docs_page_loads_swagger_ui_script_and_stylesheet(docs):
    _, urls = docs

    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert any(url.endswith("swagger-ui.css") for url in urls)


def test_docs_page_static_assets_are_served(docs):
    _, urls = docs
    client = Client()

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        content = (
            response.streaming_content  # type: ignore[attr-defined]  # a streaming response's
            if response.streaming
            else [response.content]
        )
        assert b"".join(content)


def test_token_endpoint_documents_its_rate_limit(schema):
    too_many = schema["paths"][TOKEN]["post"]["responses"]["429"]

    assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert resolve(schema, too_many["content"]["application/json"]["schema"])["required"] == [
        "error"
    ]


@pytest.mark.parametrize("path", ["/piesync/schema/", "/piesync/docs/"])
def test_options_on_the_schema_and_docs_is_405_and_allow_does_not_offer_it(db, path):
    response = Client().options(path)

    assert response.status_code == 405
    assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "HEAD"}
