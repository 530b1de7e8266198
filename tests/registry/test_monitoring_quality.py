"""Data quality per input and window: missing, outside the training range, unseen
categories, refused calls by reason."""

from __future__ import annotations

import pytest

from registry.interface import InvalidInput
from registry.models import Refusal
from registry.monitoring.quality import quality_counts
from registry.monitoring.report import monitoring_report
from registry.monitoring.windows import period_parse
from registry.predict.refusals import refusal_reasons
from registry.predict.services import prediction_run
from registry.runtime import version_interface
from tests.monitoring_rows import reference_rows, store_answers

pytestmark = pytest.mark.django_db


def _quality(version):
    return monitoring_report(version=version, period=period_parse(version=version))["quality"]


def test_it_counts_missing_outside_range_and_unseen_values(clinic_version):
    interface = version_interface(clinic_version)
    reference = [r for r in clinic_version.reference_sample if r["region"] != "east"]
    rows = reference_rows(clinic_version, 10)
    rows[0]["bmi"] = None
    rows[1]["bmi"] = 99.0  # the observed maximum is about 42
    rows[2]["region"] = "east"  # a declared choice, never in these reference rows
    found = quality_counts(interface=interface, reference=reference, rows=rows)
    assert found["bmi"] == {"missing": 1, "out_of_range": 1, "unseen_categories": 0}
    assert found["region"]["unseen_categories"] >= 1
    assert found["age"] == {"missing": 0, "out_of_range": 0, "unseen_categories": 0}


def test_a_refused_call_is_counted_by_input_and_reason(clinic_version, make_user):
    user = make_user()
    row = reference_rows(clinic_version, 1)[0]
    for bad in ({**row, "region": "atlantis"}, {**row, "region": "mars"}, {**row, "bmi": "x"}):
        with pytest.raises(InvalidInput):
            prediction_run(version=clinic_version, rows=[bad], user=user, source="api")
    missing = {k: v for k, v in row.items() if k != "age"}
    with pytest.raises(InvalidInput):
        prediction_run(version=clinic_version, rows=[missing], user=user, source="api")
    counted = {(r.input, r.reason): r.count for r in Refusal.objects.filter(version=clinic_version)}
    assert counted == {
        ("region", "unseen_category"): 2,
        ("bmi", "wrong_type"): 1,
        ("age", "missing"): 1,
    }
    quality = monitoring_report(
        version=clinic_version, period=period_parse(version=clinic_version)
    )["quality"]
    region = next(q for q in quality if q["input"] == "region")
    assert region["refused"] == 2 and region["refused_by_reason"] == {"unseen_category": 2}
    assert region["series"][-1]["refused"] == 2


def test_reasons_of_the_call_as_a_whole_are_bounded():
    exc = InvalidInput({0: {"colour": ["Unknown field."]}, 1: {"inputs": ["Send a row."]}})
    assert refusal_reasons(exc, ["age"]) == {("(call)", "unknown_field"), ("(call)", "malformed")}


def test_the_report_gives_rates_per_window(clinic_version):
    rows = reference_rows(clinic_version, 200)
    for row in rows[:20]:
        row["bmi"] = 80.0
    store_answers(clinic_version, rows)
    quality = monitoring_report(
        version=clinic_version, period=period_parse(version=clinic_version)
    )["quality"]
    bmi = next(q for q in quality if q["input"] == "bmi")
    assert bmi["out_of_range"] == pytest.approx(0.1)
    assert bmi["label"] == version_interface(clinic_version).by_name["bmi"].spec.get("label", "bmi")
    assert sum(p["rows"] for p in bmi["series"]) == 200
