"""The admin: who sees its link, and what a manager may change there."""

from __future__ import annotations


# ------------------------------------------------------------------ admin
def test_a_manager_can_use_the_admin_and_records_stay_read_only(client, manager, clinic_version):
    manager.is_staff = True
    manager.save()
    client.force_login(manager)
    assert ">Admin</a>" in client.get("/").content.decode()
    assert client.get("/admin/registry/").status_code == 200
    model = clinic_version.model
    change = client.get(f"/admin/registry/registeredmodel/{model.pk}/change/")
    assert change.status_code == 200 and 'name="title"' in change.content.decode()
    client.post(
        f"/admin/registry/registeredmodel/{model.pk}/change/",
        {
            "title": "Clinic risk",
            "description": "",
            "owner": "",
            "tags": [],
            **{
                f"{prefix}-{k}": v
                for prefix in ("aliases", "versions")
                for k, v in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0"}.items()
            },
        },
    )
    model.refresh_from_db()
    assert model.title == "Clinic risk"
    version = client.get(f"/admin/registry/modelversion/{clinic_version.pk}/change/")
    assert version.status_code == 200 and 'name="notes"' not in version.content.decode()
    assert client.get("/admin/registry/prediction/add/").status_code == 403


def test_the_admin_link_shows_only_to_those_who_can_use_it(client, make_user, clinic_version):
    staff_analyst = make_user("sam", "analyst", is_staff=True)
    client.force_login(staff_analyst)
    assert ">Admin</a>" not in client.get("/").content.decode()
