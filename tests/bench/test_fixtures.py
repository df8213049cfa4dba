"""The bench's own rows and its files of single-use credentials work at the token
endpoint as the OAuth flow's would: a change to the grant or the token models that the
bench's direct writes missed fails here, not in the middle of `make bench`."""

import pytest
from django.test import Client

from bench import config
from bench.fixtures import bench_create, code_file, receiver_subscribed, refresh_token_file

pytestmark = pytest.mark.django_db

TOKEN_PATH = "/piesync/oauth/token/"


@pytest.fixture
def bench():
    return bench_create()


def exchange(bench, form):
    return Client().post(TOKEN_PATH, form, HTTP_AUTHORIZATION=bench.basic)


def test_each_code_in_the_file_is_exchanged_for_tokens_of_the_bench_site(bench, tmp_path):
    codes = code_file(bench, count=3, path=tmp_path / "codes.txt").read_text().splitlines()

    responses = [
        exchange(
            bench,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": config.REDIRECT_URI},
        )
        for code in codes
    ]

    assert len(set(codes)) == 3
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert {response.json()["site_uuid"] for response in responses} == {str(bench.site.uuid)}
    assert all("refresh_token" in response.json() for response in responses)


def test_a_code_from_the_file_is_single_use(bench, tmp_path):
    (code,) = code_file(bench, count=1, path=tmp_path / "codes.txt").read_text().splitlines()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": config.REDIRECT_URI}

    assert exchange(bench, form).status_code == 200
    assert exchange(bench, form).status_code == 400


def test_each_refresh_token_in_the_file_is_exchanged_for_the_bench_sites_tokens(bench, tmp_path):
    tokens = refresh_token_file(bench, count=2, path=tmp_path / "refresh.txt").read_text()

    responses = [
        exchange(bench, {"grant_type": "refresh_token", "refresh_token": token})
        for token in tokens.splitlines()
    ]

    assert [response.status_code for response in responses] == [200, 200]
    assert {response.json()["site_uuid"] for response in responses} == {str(bench.site.uuid)}


def test_the_bench_subscription_points_to_the_receiver(bench):
    assert receiver_subscribed(bench)
