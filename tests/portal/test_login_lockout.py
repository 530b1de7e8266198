"""Repeated wrong passwords lock the username, and the address, on both login pages."""

import time

import pytest
from django.contrib.auth.models import User

LOCKED = "Too many failed logins"


def login(client, username, password, url="/accounts/login/", address="203.0.113.7"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, make_user):
    make_user("ana", "analyst")
    for _ in range(5):
        response = login(client, "ana", "wrong")
        assert response.status_code == 200 and LOCKED not in response.content.decode()
    response = login(client, "ana", "pw-for-tests")
    assert LOCKED in response.content.decode()
    assert not logged_in(client)
    # From another address too: the account is locked, not just the address.
    assert LOCKED in login(client, "ANA", "pw-for-tests", address="198.51.100.2").content.decode()
    # Another account from the first address is not locked by these five.
    make_user("bob", "viewer")
    assert login(client, "bob", "pw-for-tests").status_code == 302 and logged_in(client)


def test_a_right_password_before_the_limit_resets_the_count(client, make_user):
    make_user("ana", "analyst")
    for _ in range(4):
        login(client, "ana", "wrong")
    assert login(client, "ana", "pw-for-tests").status_code == 302
    client.logout()
    for _ in range(4):
        login(client, "ana", "wrong")
    assert login(client, "ana", "pw-for-tests").status_code == 302


def test_one_address_trying_many_usernames_is_locked(client, make_user, settings):
    settings.PORTAL = {**settings.PORTAL, "LOGIN_FAILURES_PER_ADDRESS": 6}
    make_user("ana", "analyst")
    for i in range(6):
        login(client, f"guess{i}", "wrong")
    assert LOCKED in login(client, "ana", "pw-for-tests").content.decode()
    assert login(client, "ana", "pw-for-tests", address="198.51.100.2").status_code == 302


def test_behind_the_proxy_the_forwarded_address_counts(client, make_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PORTAL = {**settings.PORTAL, "LOGIN_FAILURES_PER_ADDRESS": 3}
    make_user("ana", "analyst")
    for i in range(3):
        client.post(
            "/accounts/login/",
            {"username": f"guess{i}", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.9",
        )
    # The proxy's own address is shared by everyone: another client behind it still logs in.
    response = client.post(
        "/accounts/login/",
        {"username": "ana", "password": "pw-for-tests"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert response.status_code == 302


def test_the_admin_login_is_locked_too(client, db):
    User.objects.create_superuser("root", password="right-password-123")
    for _ in range(5):
        login(client, "root", "wrong", url="/admin/login/")
    response = login(client, "root", "right-password-123", url="/admin/login/")
    assert LOCKED in response.content.decode()
    assert not logged_in(client)


def test_the_lock_ends_after_its_period(client, make_user, settings):
    settings.PORTAL = {**settings.PORTAL, "LOGIN_LOCKOUT_SECONDS": 1}
    make_user("ana", "analyst")
    for _ in range(5):
        login(client, "ana", "wrong")
    assert LOCKED in login(client, "ana", "pw-for-tests").content.decode()
    time.sleep(2.1)
    assert login(client, "ana", "pw-for-tests").status_code == 302


pytestmark = pytest.mark.django_db
