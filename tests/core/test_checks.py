"""core's system checks (core.checks): its settings, metrics in production, the lockout."""

from datetime import timedelta

from core.checks import check_settings


def ids() -> list[str | None]:
    return [message.id for message in check_settings()]


def test_the_test_configuration_passes(knobs):
    assert ids() == []


def test_a_value_that_does_not_parse(knobs):
    knobs.TRUSTED_PROXY_COUNT = "one"

    [error] = check_settings()

    assert error.id == "core.E001"
    assert error.msg == "TRUSTED_PROXY_COUNT: must be an integer; got 'one'"


def test_production_refuses_metrics_without_a_token(knobs):
    knobs.LOCAL_MODE = False
    knobs.METRICS_ENABLED = "true"

    [error] = check_settings()

    assert error.id == "core.E002"
    assert error.msg == "METRICS_ENABLED in production needs METRICS_TOKEN."


def test_production_serves_metrics_with_a_token(knobs):
    knobs.LOCAL_MODE = False
    knobs.METRICS_ENABLED = "true"
    knobs.METRICS_TOKEN = "t" * 40

    assert ids() == []


def test_local_mode_serves_metrics_without_a_token(knobs):
    knobs.METRICS_ENABLED = "true"

    assert ids() == []


def test_a_login_failure_limit_below_one(knobs):
    knobs.AXES_FAILURE_LIMIT = 0

    assert ids() == ["core.E003"]


def test_a_lockout_shorter_than_a_minute(knobs):
    knobs.AXES_COOLOFF_TIME = timedelta(0)

    [error] = check_settings()

    assert error.id == "core.E003"
    assert error.msg == "LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be positive."
