"""realgeeks/settings.py hands each app the variables its conf.py declares, by the same
names, and nothing else; every declared default parses."""

import ast
from pathlib import Path

import pytest

from core.conf import declared_settings
from realgeeks import settings as realgeeks_settings

SETTINGS = Path(__file__).resolve().parent.parent / "realgeeks" / "settings.py"


def env_values_calls() -> dict[str, list[str]]:
    """`NAMESPACE = env_values("NAME NAME ...")` in settings.py, as written."""
    calls = {}
    for node in ast.parse(SETTINGS.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "env_values"
        ):
            [target] = node.targets
            assert isinstance(target, ast.Name)
            [names] = node.value.args
            calls[target.id] = ast.literal_eval(names).split()
    return calls


def test_settings_reads_exactly_the_declared_variables_of_each_app():
    declared = {
        accessor.namespace: [setting.name for setting in accessor.declarations()]
        for _, accessor in declared_settings()
    }

    assert {namespace: sorted(names) for namespace, names in env_values_calls().items()} == {
        namespace: sorted(names) for namespace, names in declared.items()
    }


def test_a_variable_belongs_to_one_app_only():
    names = [name for names in env_values_calls().values() for name in names]

    assert len(names) == len(set(names))


def test_the_apps_get_only_the_variables_that_are_set_unparsed(monkeypatch):
    monkeypatch.setenv("DELIVERY_TOTAL_TIMEOUT", "2.5")
    monkeypatch.delenv("DELIVERY_CONNECT_TIMEOUT", raising=False)

    given = realgeeks_settings.env_values("DELIVERY_TOTAL_TIMEOUT DELIVERY_CONNECT_TIMEOUT")

    assert given == {"DELIVERY_TOTAL_TIMEOUT": "2.5"}


@pytest.mark.parametrize("mode", ["local", "production"])
def test_every_default_parses_in_either_mode(settings, mode):
    settings.REALGEEKS_MODE = mode
    for _, accessor in declared_settings():
        setattr(settings, accessor.namespace, {})

        assert accessor.errors(check_id="test") == []
