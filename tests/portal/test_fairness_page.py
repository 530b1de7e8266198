"""The model card's Fairness section: a manager marks inputs; everyone reads sentences and
graphs."""

from __future__ import annotations

import plotly.graph_objects as go

from registry.models import AuditEvent
from registry.runtime import version_interface
from tests.portal.test_pages import figures


def test_a_manager_marks_sensitive_inputs_and_the_favourable_answer(
    client, manager, clinic_version, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("registry.fairness.recourse.SAMPLE_ROWS", 12)
    client.force_login(manager)
    html = client.get("/models/clinic/").content.decode()
    assert 'id="fairness"' in html and "No input is marked sensitive." in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/models/clinic/fairness/?version=1", {"sensitive": ["sex"], "favourable": "no"}
        )
    assert response.status_code == 302 and response["Location"].endswith("#fairness")
    clinic_version.refresh_from_db()
    assert version_interface(clinic_version).sensitive == ["sex"]
    assert clinic_version.interface["output"]["favourable"] == "no"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FAIRNESS_SET).count() == 2
    response = client.get("/models/clinic/")
    html = response.content.decode()
    assert "By sex, the answer “no” is given to" in html
    assert "Recourse (median cost)" in html
    titles = [f["layout"]["title"]["text"] for f in figures(response)]
    assert "Accuracy by sex (95% intervals)" in titles
    assert "Recourse by sex" in titles
    for fig in figures(response):
        go.Figure(fig)


def test_a_refused_input_is_said_on_the_card(client, manager, clinic_version):
    client.force_login(manager)
    response = client.post(
        "/models/clinic/fairness/?version=1",
        {"sensitive": ["sex"], "favourable": "maybe"},
        follow=True,
    )
    assert "Unknown class" in response.content.decode()


def test_a_viewer_reads_but_cannot_change(client, viewer, clinic_version):
    client.force_login(viewer)
    html = client.get("/models/clinic/").content.decode()
    assert 'id="fairness"' in html and "Save fairness settings" not in html
    assert 'href="/api/v1/models/clinic/versions/1/dossier/"' in html
    assert client.get("/api/v1/models/clinic/versions/1/dossier/").status_code == 200
    assert client.post("/models/clinic/fairness/", {"sensitive": ["sex"]}).status_code == 403
