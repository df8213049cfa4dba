"""Settings as declarations (core.conf): the accessor, its defaults and the parsing."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.conf import (
    AppSettings,
    Computed,
    Setting,
    by_mode,
    parse_bool,
    parse_float,
    parse_int,
    parse_list,
)


def twice_the_count() -> str:
    return str(example.COUNT * 2)


class ExampleSettings(AppSettings):
    namespace = "EXAMPLE"

    COUNT = Setting(parse_int, default="3", help="a count")
    SCHEDULE = Setting(parse_list(parse_int), default="5,60", help="seconds")
    HOSTS = Setting(parse_int, default=by_mode(local="0", production="1"), help="proxies")
    DOUBLED = Setting(
        parse_int,
        default=Computed(twice_the_count, shown="twice `COUNT`"),
        help="derived",
    )


example = ExampleSettings()


def test_without_a_value_the_declared_default_is_parsed():
    assert example.COUNT == 3
    assert example.SCHEDULE == [5, 60]


def test_a_value_from_the_environment_is_parsed(settings):
    settings.EXAMPLE = {"COUNT": "7", "SCHEDULE": "1,,2"}

    assert example.COUNT == 7
    assert example.SCHEDULE == [1, 2]  # empty items skipped, as django-environ does


def test_a_value_that_is_not_a_string_is_used_as_it_is(settings):
    settings.EXAMPLE = {"SCHEDULE": [9]}

    assert example.SCHEDULE == [9]


def test_a_changed_setting_is_read_again(settings):
    settings.EXAMPLE = {"COUNT": "1"}
    assert example.COUNT == 1

    settings.EXAMPLE = {"COUNT": "2"}

    assert example.COUNT == 2


def test_a_default_follows_the_mode_the_process_started_in_not_local_mode(settings):
    settings.LOCAL_MODE = False  # as tests that exercise production's rules do
    assert example.HOSTS == 0

    settings.REALGEEKS_MODE = "production"

    assert example.HOSTS == 1


def test_a_computed_default_reads_the_other_settings(settings):
    settings.EXAMPLE = {"COUNT": "4"}

    assert example.DOUBLED == 8


def test_a_value_that_does_not_parse_names_its_variable(settings):
    settings.EXAMPLE = {"SCHEDULE": "5,soon"}

    with pytest.raises(ImproperlyConfigured, match=r"^SCHEDULE: item 2 must be an integer"):
        example.SCHEDULE  # noqa: B018


def test_the_check_reports_each_value_that_does_not_parse(settings):
    settings.EXAMPLE = {"SCHEDULE": "x", "HOSTS": "y"}

    errors = example.errors(check_id="example.E001")

    assert [(error.id, error.msg) for error in errors] == [
        ("example.E001", "SCHEDULE: item 1 must be an integer; got 'x'"),
        ("example.E001", "HOSTS: must be an integer; got 'y'"),
    ]


def test_the_reference_shows_each_default():
    assert [setting.shown_default for setting in ExampleSettings.declarations()] == [
        "`3`",
        "`5,60`",
        "local: `0`; production: `1`",
        "twice `COUNT`",
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("true", True), ("on", True), ("yes", True), ("1", True), ("2", True)],
        *[("false", False), ("0", False), ("", False), ("maybe", False)],
    ],
)
def test_booleans_read_as_django_environ_reads_them(text, value):
    assert parse_bool(text) is value


def test_numbers_read_as_django_environ_reads_them():
    assert parse_float("0.5") == 0.5
    assert parse_float("15") == 15.0
    with pytest.raises(ValueError, match="must be a number"):
        parse_float("soon")
