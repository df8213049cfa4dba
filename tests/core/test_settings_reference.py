"""The configuration reference (docs/configuration.md) is `manage.py settings_reference`'s
output, generated from the apps' declarations (<app>/conf.py)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.management.commands.settings_reference import END, START, with_reference
from tests.test_deploy_check import BASE_DIR

DOC = BASE_DIR / "docs" / "configuration.md"


def reference() -> str:
    out = StringIO()
    call_command("settings_reference", stdout=out)
    return out.getvalue()


def test_the_docs_table_is_the_generated_one():
    text = DOC.read_text()

    assert with_reference(text, reference()) == text, (
        "docs/configuration.md is out of date with the settings' declarations: run "
        "`REALGEEKS_MODE=local .venv/bin/python manage.py settings_reference "
        "--write docs/configuration.md`"
    )


def test_one_row_per_declared_setting_with_its_app():
    rows = reference().splitlines()

    assert rows[0] == "| variable | default | meaning | app |"
    assert "| `DELIVERY_RETRY_SCHEDULE` | `5,60,300,1800,7200,18000,36000,50400,72000,86400` |" in (
        "\n".join(rows)
    )
    assert all(
        row.endswith(("`core` |", "`ratelimits` |", "`subscriptions` |", "`leads` |"))
        for row in rows[2:]
    )


def test_write_replaces_only_what_is_between_the_markers(tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# Configuration\n\nProse.\n\n{START}\nold table\n{END}\n\nMore prose.\n")

    call_command("settings_reference", write=str(doc))

    assert doc.read_text() == (
        f"# Configuration\n\nProse.\n\n{START}\n{reference()}{END}\n\nMore prose.\n"
    )


def test_write_needs_both_markers(tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text(f"{START}\nno end\n")

    with pytest.raises(CommandError, match="must both be in the file"):
        call_command("settings_reference", write=str(doc))
