"""The operators' kit: the Grafana dashboard (deploy/grafana/realgeeks.json) and the
Prometheus alerting rules (deploy/prometheus/alerts.yml) name only metrics and label
values a real `/metrics` scrape shows, every alert has its runbook entry, and the rules
pass `promtool check rules` and their unit tests (`promtool test rules`)."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import UNMATCHED_ROUTE
from leads.metrics import OUTCOMES
from oauth_provider.metrics import GRANT_TYPES
from tests.leads.worker import BASE_DIR

DASHBOARD = BASE_DIR / "deploy" / "grafana" / "realgeeks.json"
RULES = BASE_DIR / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = BASE_DIR / "deploy" / "prometheus" / "alerts.test.yml"
RUNBOOK = BASE_DIR / "docs" / "alerts.md"

METRIC = re.compile(r"\brealgeeks_\w+")
# A label matcher in PromQL: name, operator, quoted value.
MATCHER = re.compile(r'\b(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
# The series names a scrape shows for each family type.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}
# Grafana's variables, replaced as Grafana would before the query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "4m", "$__range": "6h", "$job": "realgeeks"}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def panel_queries() -> list[str]:
    return [target["expr"] for panel in dashboard_panels() for target in panel["targets"]]


def dashboard_expressions() -> list[str]:
    """The panels' queries, and the variables' (Grafana's `label_values(metric, label)`)."""
    variables = dashboard()["templating"]["list"]
    return panel_queries() + [v["query"]["query"] for v in variables if v["type"] == "query"]


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def rule_expressions() -> list[str]:
    return [rule["expr"] for rule in alert_rules()]


# ---------------------------------------------------------------------------
# What a scrape shows


@pytest.fixture
def scrape(db, knobs) -> dict[str, str]:
    """A real scrape after a request (so the request histogram has a series): the type
    of each metric family it shows, by name."""
    knobs.METRICS_ENABLED = True
    knobs.METRICS_TOKEN = ""
    client = Client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return {
        family.name: family.type
        for family in text_string_to_metric_families(response.content.decode())
        if family.name.startswith("realgeeks_")
    }


def series_names(families: dict[str, str]) -> set[str]:
    return {name + suffix for name, kind in families.items() for suffix in SUFFIXES[kind]}


def url_names(patterns: list[URLPattern | URLResolver], namespace: str = "") -> set[str]:
    """Every URL pattern name, namespaced as `route` labels show them."""
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif pattern.name:
            names.add(namespace + pattern.name)
    return names


def known_label_values() -> dict[str, set[str]]:
    return {
        "route": url_names(get_resolver().url_patterns) | {UNMATCHED_ROUTE},
        "outcome": set(OUTCOMES),
        "grant_type": {*GRANT_TYPES, "other"},
    }


def unknown_names(expressions: list[str], families: dict[str, str]) -> set[str]:
    exposed = series_names(families)
    return {name for expr in expressions for name in METRIC.findall(expr)} - exposed


def unknown_label_values(expressions: list[str]) -> set[str]:
    """Values matched on `route`, `outcome` or `grant_type` (each alternative of a regex
    matcher) that the service never sets."""
    known = known_label_values()
    unknown = set()
    for expr in expressions:
        for label, _, value in MATCHER.findall(expr):
            if label in known:
                unknown |= {f"{label}={v}" for v in value.split("|") if v not in known[label]}
    return unknown


# ---------------------------------------------------------------------------
# The dashboard


def test_the_dashboard_is_a_grafana_dashboard_with_readable_panels():
    board = dashboard()  # valid JSON, or this raises
    panels = dashboard_panels()
    ids = [panel["id"] for panel in board["panels"]]

    assert board["schemaVersion"] >= 39  # Grafana 11 and later
    assert len(ids) == len(set(ids))
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "job"]
    for panel in panels:
        assert panel["title"], panel
        assert panel["description"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert 'job=~"$job"' in target["expr"], target["expr"]


def test_the_dashboard_names_only_metrics_the_scrape_shows(scrape):
    assert unknown_names(dashboard_expressions(), scrape) == set()


def test_the_dashboard_shows_every_metric_the_scrape_shows(scrape):
    named = {name for expr in dashboard_expressions() for name in METRIC.findall(expr)}
    shown = {family for family in scrape if series_names({family: scrape[family]}) & named}

    assert shown == set(scrape)


def test_the_name_check_wants_series_as_the_scrape_shows_them(scrape):
    """A counter's family name, or a gauge with a counter's suffix, is no series."""
    assert unknown_names(
        ["rate(realgeeks_deliveries[5m])", "realgeeks_delivery_queue_depth_total"], scrape
    ) == {"realgeeks_deliveries", "realgeeks_delivery_queue_depth_total"}


def test_the_dashboard_matches_only_routes_and_outcomes_the_service_has():
    assert unknown_label_values(dashboard_expressions()) == set()


def test_the_label_check_catches_a_renamed_route_or_outcome():
    assert unknown_label_values(
        ['x{route="oauth2_provider:tokens"}', 'x{outcome=~"delivered|lost"}']
    ) == {"route=oauth2_provider:tokens", "outcome=lost"}


def test_the_dashboard_queries_parse_as_promql(tmp_path):
    """Each query, its Grafana variables replaced, as a recording rule for promtool."""
    exprs = []
    for expr in panel_queries():
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        exprs.append(expr)
    rules = [{"record": f"dashboard:query{n}", "expr": e} for n, e in enumerate(exprs)]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    result = promtool("check", "rules", path)

    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------
# The alerting rules


def test_the_rules_name_only_metrics_the_scrape_shows(scrape):
    assert unknown_names(rule_expressions(), scrape) == set()


def rule_test_series() -> list[str]:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    return [series["series"] for test in tests for series in test["input_series"]]


def test_the_rules_and_their_tests_match_only_routes_and_outcomes_the_service_has():
    assert unknown_label_values(rule_expressions() + rule_test_series()) == set()


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes of a page's headings."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_alert_has_a_severity_a_summary_and_its_runbook_entry():
    anchors = heading_anchors(RUNBOOK.read_text())
    for rule in alert_rules():
        annotations = rule["annotations"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        assert annotations["runbook_url"] == f"docs/alerts.md#{rule['alert'].lower()}"
        assert rule["alert"].lower() in anchors, rule["alert"]


def test_the_rule_tests_use_only_series_the_scrape_shows(scrape):
    assert unknown_names(rule_test_series(), scrape) == set()


def test_every_alert_is_tested_firing_and_quiet():
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    for rule in alert_rules():
        expected = [case["exp_alerts"] for case in cases if case["alertname"] == rule["alert"]]
        assert any(expected), f"{rule['alert']} is never expected to fire"
        assert not all(expected), f"{rule['alert']} is never expected to stay quiet"


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Debian's promtool (the `prometheus` package); CI (`.ci/run`) installs it, so
    there its absence is a failure."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed; .ci/run installs Debian's prometheus")
        pytest.skip("promtool is not installed (apt-get install prometheus; .ci/run does)")
    return subprocess.run(
        [found, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_rules_pass_promtool_check_rules():
    result = promtool("check", "rules", RULES)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_the_rules_pass_their_promtool_unit_tests():
    result = promtool("test", "rules", RULE_TESTS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
