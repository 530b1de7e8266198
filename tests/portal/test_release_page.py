"""The model card's release section: pending promotion requests with approve and reject
buttons for another manager; the requester's own request waits for someone else."""

from __future__ import annotations

from django.test import Client

from registry.catalog.services import model_version_register
from registry.models import Alias
from registry.releases.promotions import model_approval_set, promotion_request


def _guarded(clinic_version, clinic_forest_bytes, clinic_csv, asker):
    model_version_register(
        name="clinic", artifact=clinic_forest_bytes, reference=clinic_csv, target="high_risk"
    )
    model = clinic_version.model
    model_approval_set(model=model, required=True, user=asker)
    return promotion_request(model=model, number=2, comment="ready", user=asker)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def champion() -> int:
    return Alias.objects.get(model__name="clinic", name="champion").version.number


def test_another_manager_sees_the_request_and_approves_it_from_the_card(
    make_user, clinic_version, clinic_forest_bytes, clinic_csv
):
    ann, bob = make_user("ann", "manager"), make_user("bob", "manager")
    promotion = _guarded(clinic_version, clinic_forest_bytes, clinic_csv, ann)

    own = _client(ann).get("/models/clinic/").content.decode()
    assert "Another manager decides on your request" in own and 'value="approve"' not in own
    page = _client(bob).get("/models/clinic/").content.decode()
    assert "v2 as <strong>champion</strong>, asked by ann" in page and "“ready”" in page
    assert 'value="approve"' in page and 'value="reject"' in page

    answer = _client(bob).post(
        f"/models/clinic/promotions/{promotion.pk}/", {"decision": "approve", "comment": "ok"}
    )
    assert answer.status_code == 302 and champion() == 2


def test_the_requester_cannot_approve_from_the_page_and_an_analyst_is_refused(
    make_user, clinic_version, clinic_forest_bytes, clinic_csv
):
    ann = make_user("ann", "manager")
    promotion = _guarded(clinic_version, clinic_forest_bytes, clinic_csv, ann)
    answer = _client(ann).post(
        f"/models/clinic/promotions/{promotion.pk}/", {"decision": "approve"}, follow=True
    )
    assert "Another manager must decide" in answer.content.decode()
    assert champion() == 1
    analyst = _client(make_user("ana", "analyst"))
    assert (
        analyst.post(
            f"/models/clinic/promotions/{promotion.pk}/", {"decision": "approve"}
        ).status_code
        == 403
    )
    assert analyst.post("/models/clinic/promotions/", {"version": 2}).status_code == 403
    assert champion() == 1


def test_make_champion_on_a_guarded_model_says_approval_is_needed(
    make_user, clinic_version, clinic_forest_bytes, clinic_csv
):
    ann = make_user("ann", "manager")
    _guarded(clinic_version, clinic_forest_bytes, clinic_csv, ann)
    answer = _client(ann).post("/models/clinic/aliases/champion/", {"version": 2}, follow=True)
    assert "requires approval" in answer.content.decode()
    assert champion() == 1
