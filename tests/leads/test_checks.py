"""leads' system check (leads.checks): its settings parse."""

from leads.checks import check_settings


def test_the_defaults_pass():
    assert check_settings() == []


def test_a_retry_schedule_that_does_not_parse(knobs):
    knobs.DELIVERY_RETRY_SCHEDULE = "5,60,an hour"

    [error] = check_settings()

    assert error.id == "leads.E001"
    assert error.msg == "DELIVERY_RETRY_SCHEDULE: item 3 must be an integer; got 'an hour'"
