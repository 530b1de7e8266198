import pytest


@pytest.fixture
def analyst(make_user):
    return make_user("ana", "analyst")


@pytest.fixture
def viewer(make_user):
    return make_user("vic", "viewer")


@pytest.fixture
def manager(make_user):
    return make_user("mia", "manager")


@pytest.fixture
def as_analyst(client, analyst):
    client.force_login(analyst)
    return client
