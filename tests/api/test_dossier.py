"""The dossier: a valid PDF holding every section and the artifact's sha256."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from pypdf import PdfReader

from registry.catalog.services import model_version_register
from registry.fairness.services import version_favourable_set, version_sensitive_set
from registry.releases.promotions import promotion_approve, promotion_request

URL = "/api/v1/models/{}/versions/{}/dossier/"
SECTIONS = [
    "Purpose, owner and intended use",
    "Lineage and origin",
    "Interface",
    "Metrics on reference data",
    "Evaluation charts",
    "Global importance",
    "Fairness and recourse",
    "Monitoring summary",
    "Releases and approvals",
    "Integrity",
]


def _text(response) -> tuple[PdfReader, str]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Dossier-SHA256"] == hashlib.sha256(response.content).hexdigest()
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(text.split())


def test_the_dossier_is_a_pdf_with_every_section(
    clinic_version, viewer, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("registry.fairness.recourse.SAMPLE_ROWS", 12)
    version, _ = version_sensitive_set(
        version=clinic_version, name="sex", sensitive=True, user=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        version = version_favourable_set(version=version, favourable="no", user=None)
        viewer.get("/api/v1/models/clinic/fairness/")
    started = time.perf_counter()
    response = viewer.get(URL.format("clinic", 1))
    seconds = time.perf_counter() - started
    reader, text = _text(response)
    assert len(reader.pages) >= 3
    for section in SECTIONS:
        assert section in text, section
    assert clinic_version.artifact_sha256 in text.replace(" ", "")
    assert response["X-Dossier-Content-SHA256"] in text.replace(" ", "")
    assert "By sex" in text and "Recourse" in text
    assert "generated" in text and viewer.user.get_username() in text
    # The charts are vector graphics: drawn paths, no raster image anywhere.
    assert all(not page.images for page in reader.pages)
    assert seconds < 30


def test_an_unchanged_version_keeps_its_content_hash(clinic_version, viewer, manager):
    first = viewer.get(URL.format("clinic", 1))
    second = manager.get(URL.format("clinic", 1))
    assert first["X-Dossier-Content-SHA256"] == second["X-Dossier-Content-SHA256"]


def test_a_version_without_reference_data_says_what_is_missing(
    db, viewer, clinic_forest_bytes, clinic_version
):
    interface = clinic_version.interface
    model_version_register(name="bare", artifact=clinic_forest_bytes, interface=interface)
    _, text = _text(viewer.get(URL.format("bare", 1)))
    assert "What is missing" in text
    assert "Reference data: none was given at registration" in text
    for section in SECTIONS:
        assert section in text, section


@pytest.mark.parametrize("who", ["anonymous", "nobody"])
def test_it_needs_a_viewer(clinic_version, anonymous, client_as, who):
    client = anonymous if who == "anonymous" else client_as(None)
    assert client.get(URL.format("clinic", 1)).status_code in (401, 403)


def test_an_unknown_version_is_a_404(clinic_version, viewer):
    assert viewer.get(URL.format("clinic", 9)).status_code == 404


def test_releases_and_approvals_come_from_the_promotions_and_the_audit_trail(
    clinic_version, viewer, make_user, django_capture_on_commit_callbacks
):
    asker, approver = make_user("asker", "manager"), make_user("approver", "manager")
    promotion = promotion_request(
        model=clinic_version.model, number=1, alias="challenger", comment="ready", user=asker
    )
    with django_capture_on_commit_callbacks(execute=True):
        promotion_approve(promotion=promotion, comment="checked the card", user=approver)
    _, text = _text(viewer.get(URL.format("clinic", 1)))
    assert "Promotions of this version" in text
    assert "approved" in text and "asker" in text and "approver" in text
    assert "checked the card" in text
    assert "Promotion approved" in text  # the audit trail's line
