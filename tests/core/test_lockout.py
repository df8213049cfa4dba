"""Login lockout (django-axes): per username and address, on our login page and the admin's."""

import logging
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import PASSWORD, UserFactory
from tests.oauth_provider.flow import LOGIN, page_text, tags

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

ADMIN_LOGIN = "/admin/login/"
WRONG = "not-the-password-1234"
LOCKED = re.compile(
    r"Too many failed login attempts: this account is temporarily locked\. "
    r"Try again in (\d+) minutes? \(at \d\d:\d\d UTC\)\."
)


@pytest.fixture
def limit(knobs, db):
    knobs.AXES_FAILURE_LIMIT = 3
    knobs.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return knobs


def log_in(username: str, password: str = WRONG, *, ip: str = "198.51.100.7", path=LOGIN, **extra):
    browser = Client(REMOTE_ADDR=ip)
    response = browser.post(path, {"username": username, "password": password}, **extra)
    response.logged_in = "_auth_user_id" in browser.session  # type: ignore[attr-defined]  # a mark
    return response


def lock_out(username: str, *, ip: str = "198.51.100.7", path=LOGIN, times: int = 3):
    return [log_in(username, ip=ip, path=path).status_code for _ in range(times)]


def test_failures_below_the_limit_say_wrong_password(limit, user):
    responses = [log_in(user.username) for _ in range(2)]

    assert [response.status_code for response in responses] == [200, 200]
    assert "Please enter a correct username and password" in page_text(responses[-1])


def test_the_failure_that_reaches_the_limit_shows_the_locked_page(limit, user):
    lock_out(user.username, times=2)

    response = log_in(user.username)

    assert response.status_code == 429
    assert int(response["Retry-After"]) in range(899, 901)
    (alert,) = tags(response, "div", role="alert")
    locked = LOCKED.search(page_text(response))
    assert locked is not None and locked.group(1) == "15"
    assert alert["class"] == "errors"
    assert tags(response, "input", name="username")  # the login page itself, styled
    assert tags(response, "link", rel="stylesheet")
    assert "Traceback" not in page_text(response)


def test_the_right_password_is_refused_while_locked_out(limit, user):
    lock_out(user.username)

    response = log_in(user.username, PASSWORD)

    assert response.status_code == 429
    assert LOCKED.search(page_text(response))
    assert not response.logged_in


def test_the_same_user_from_another_address_can_log_in(limit, user):
    lock_out(user.username, ip="198.51.100.7")

    response = log_in(user.username, PASSWORD, ip="198.51.100.8")

    assert response.status_code == 302
    assert response.logged_in


def test_another_user_from_the_same_address_can_log_in(limit, user):
    other = UserFactory.create()
    lock_out(user.username)

    response = log_in(other.username, PASSWORD)

    assert response.status_code == 302
    assert response.logged_in


def test_a_successful_login_clears_the_failures(limit, user):
    lock_out(user.username, times=2)
    assert log_in(user.username, PASSWORD).status_code == 302

    assert lock_out(user.username, times=2) == [200, 200]


def test_the_lockout_ends_after_the_cool_off(limit, user):
    lock_out(user.username)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - limit.AXES_COOLOFF_TIME
    )

    response = log_in(user.username, PASSWORD)

    assert response.status_code == 302
    assert response.logged_in


def test_attempts_while_locked_out_do_not_extend_it(limit, user):
    lock_out(user.username)
    attempt = AccessAttempt.objects.get()
    AccessAttempt.objects.update(attempt_time=attempt.attempt_time - timedelta(minutes=10))

    response = log_in(user.username)

    assert response.status_code == 429
    assert int(response["Retry-After"]) in range(299, 301)
    locked = LOCKED.search(page_text(response))
    assert locked is not None and locked.group(1) == "5"
    assert AccessAttempt.objects.get().failures_since_start == 3


def test_behind_the_proxy_the_lockout_is_per_forwarded_address(limit, user):
    limit.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for _ in range(3):
        log_in(user.username, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")

    locked = log_in(user.username, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    other = log_in(user.username, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.8")

    assert locked.status_code == 429
    assert other.status_code == 302
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"


def test_the_admin_login_locks_out_with_its_own_page(limit):
    staff = UserFactory.create(is_staff=True)
    assert lock_out(staff.username, path=ADMIN_LOGIN, times=2) == [200, 200]

    response = log_in(staff.username, path=ADMIN_LOGIN)
    right_password = log_in(staff.username, PASSWORD, path=ADMIN_LOGIN)

    assert response.status_code == 429
    assert int(response["Retry-After"]) in range(899, 901)
    assert LOCKED.search(page_text(response))
    assert "Real Geeks admin" in page_text(response)  # the admin's own look
    assert tags(response, "p", **{"class": "errornote"})  # type: ignore[arg-type]  # not form=
    assert right_password.status_code == 429
    assert not right_password.logged_in


def test_failures_on_either_login_page_count_together(limit, user):
    lock_out(user.username, path=ADMIN_LOGIN, times=2)

    assert log_in(user.username).status_code == 429


def test_no_password_is_stored_or_logged(limit, user, caplog):
    caplog.set_level(logging.DEBUG)
    lock_out(user.username)
    log_in(user.username, PASSWORD)

    attempt = AccessAttempt.objects.get()
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    for secret in (WRONG, PASSWORD):
        assert secret not in attempt.post_data
        assert secret not in logged


def test_admins_see_the_attempts(limit, user, admin_client):
    lock_out(user.username)

    response = admin_client.get("/admin/axes/accessattempt/")

    assert response.status_code == 200
    assert user.username in page_text(response)


@pytest.mark.parametrize("path", [LOGIN, ADMIN_LOGIN], ids=["login", "admin-login"])
def test_a_username_longer_than_any_user_has_is_a_form_error(limit, path):
    response = log_in("u" * 300, path=path)

    assert response.status_code == 200
    assert "Ensure this value has at most 150 characters (it has 300)." in page_text(response)
    assert not AccessAttempt.objects.exists()
