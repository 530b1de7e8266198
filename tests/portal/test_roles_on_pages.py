"""Pages hold the same line as the API: a login without a role reads nothing."""

import pytest

ROW = {"age": "50", "sex": "male", "bmi": "26.4", "bp": "93", "s5": "4.6", "region": "north"}


PAGES = ["/", "/models/", "/models/clinic/", "/models/clinic/diff/?a=1&b=1", "/predictions/"]


@pytest.mark.parametrize("url", PAGES)
def test_a_user_in_no_group_is_refused_every_page(client, make_user, clinic_version, url):
    client.force_login(make_user("nobody", role=None))
    response = client.get(url)
    assert response.status_code == 403
    assert b"viewer role" in response.content


@pytest.mark.parametrize("url", PAGES)
def test_a_viewer_reads_the_same_pages(client, make_user, clinic_version, url):
    client.force_login(make_user("vic", "viewer"))
    assert client.get(url).status_code == 200
