"""Print the configuration reference of our apps' settings, from their declarations
(<app>/conf.py), as the Markdown table docs/configuration.md holds between its markers."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.conf import declared_settings

START = "<!-- settings-reference:start -->"
END = "<!-- settings-reference:end -->"


def reference_table() -> str:
    rows = ["| variable | default | meaning | app |", "|---|---|---|---|"]
    for label, app_settings in declared_settings():
        for setting in app_settings.declarations():
            cells = [f"`{setting.name}`", setting.shown_default, setting.help, f"`{label}`"]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def with_reference(text: str, table: str) -> str:
    """`text` with the table between the markers replaced by `table`."""
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise CommandError(f"{START} and {END} must both be in the file.")
    return f"{before}{START}\n{table}{END}{after}"


class Command(BaseCommand):
    help = "Print the Markdown table of our apps' settings, or write it into a file."
    requires_system_checks: list[str] = []  # documents any configuration, even a broken one

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--write",
            metavar="FILE",
            help="replace the table between the settings-reference markers of FILE "
            "(docs/configuration.md)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        table = reference_table()
        if options["write"] is None:
            self.stdout.write(table, ending="")
            return
        path = Path(options["write"])
        path.write_text(with_reference(path.read_text(), table))
