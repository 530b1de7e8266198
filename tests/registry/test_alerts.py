"""Alert rules: fire once when the condition starts, once when it clears, through signed
webhooks (a real receiver on 127.0.0.1) and email; bad rules refused; the checker goes on
past a rule that fails."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.management import call_command

from registry.alerts.services import alert_rule_create, alerts_evaluate_all
from registry.events.services import webhook_create
from registry.models import AlertRule, Event, Prediction, RegisteredModel, WebhookDelivery
from tests.monitoring_rows import reference_rows, store_answers
from tests.receivers import DATABASE_TASKS, Receiver, work_until


def _shift(version, n=300):
    rows = reference_rows(version, n)
    for row in rows:
        row["bmi"] = round(row["bmi"] + 6, 1)
    store_answers(version, rows)


@pytest.mark.django_db
def test_a_drift_alert_fires_once_over_two_evaluations_and_resolves_once(
    clinic_version, django_capture_on_commit_callbacks
):
    rule = alert_rule_create(
        model=clinic_version.model, when="drift", emails=["ops@example.com"], user=None
    )
    _shift(clinic_version)
    with django_capture_on_commit_callbacks(execute=True):  # email goes once committed
        first, second = alerts_evaluate_all(), alerts_evaluate_all()
    assert (first["fired"], second["fired"]) == (1, 0)
    rule.refresh_from_db()
    assert rule.state == "firing" and rule.value == 1 and "BMI" in rule.message
    assert Event.objects.filter(name="alert.fired").count() == 1
    assert len(mail.outbox) == 1 and "alert firing" in mail.outbox[0].subject

    # The drifted rows age out of the period: the alert clears, once.
    Prediction.objects.all().delete()
    caches["monitoring"].clear()  # the badge's status is kept a few minutes
    with django_capture_on_commit_callbacks(execute=True):
        third, fourth = alerts_evaluate_all(), alerts_evaluate_all()
    assert (third["resolved"], fourth["resolved"]) == (1, 0)
    assert Event.objects.filter(name="alert.resolved").count() == 1
    assert [m.subject.rsplit(" ", 1)[-1] for m in mail.outbox] == ["firing", "resolved"]


@pytest.mark.django_db
def test_the_checker_goes_on_past_a_rule_that_fails(clinic_version, diabetes_version):
    # A model without any version cannot be evaluated: logged, and the next rule is.
    empty = RegisteredModel.objects.create(name="empty", title="Empty", task="regression")
    AlertRule.objects.create(model=empty, when="latency_p99", threshold=10)
    alert_rule_create(model=diabetes_version.model, when="refused_rate", threshold=0.2, user=None)
    counts = alerts_evaluate_all()
    assert counts == {"checked": 1, "fired": 0, "resolved": 0, "failed": 1}


@pytest.mark.parametrize(
    ("when", "threshold", "field"),
    [
        ("wind", None, "when"),
        ("latency_p99", None, "threshold"),
        ("latency_p99", float("nan"), "threshold"),
        ("refused_rate", 1.5, "threshold"),
        ("drift", 0, "threshold"),
        ("performance", float("inf"), "threshold"),
    ],
)
@pytest.mark.django_db
def test_a_bad_rule_is_refused_naming_the_field(clinic_version, when, threshold, field):
    with pytest.raises(ValidationError) as caught:
        alert_rule_create(model=clinic_version.model, when=when, threshold=threshold, user=None)
    assert field in caught.value.message_dict


@pytest.mark.django_db
def test_a_webhook_of_another_owner_or_model_is_refused(
    settings, clinic_version, iris_version, make_user
):
    settings.PORTAL = {**settings.PORTAL, "WEBHOOK_ALLOW_PRIVATE": True}
    someone = make_user("someone", "manager")
    theirs, _ = webhook_create(url="http://127.0.0.1:9/a", events=["alert.fired"], user=someone)
    manager = make_user("mia", "manager")
    with pytest.raises(ValidationError) as caught:
        alert_rule_create(
            model=clinic_version.model, when="drift", webhooks=[theirs.pk], user=manager
        )
    assert "not yours" in caught.value.message_dict["webhooks"][0]
    other_model, _ = webhook_create(
        url="http://127.0.0.1:9/b", events=["alert.fired"], models=["iris"], user=manager
    )
    with pytest.raises(ValidationError):
        alert_rule_create(
            model=clinic_version.model, when="drift", webhooks=[other_model.pk], user=manager
        )
    mine, _ = webhook_create(url="http://127.0.0.1:9/c", events=["alert.fired"], user=manager)
    rule = alert_rule_create(
        model=clinic_version.model, when="drift", webhooks=[mine.pk], user=manager
    )
    assert list(rule.webhooks.all()) == [mine]


@pytest.mark.django_db(transaction=True)
def test_a_fired_alert_reaches_a_receiver_signed(settings, clinic_version, make_user):
    settings.TASKS = DATABASE_TASKS
    settings.PORTAL = {**settings.PORTAL, "WEBHOOK_ALLOW_PRIVATE": True}
    receiver = Receiver(secret="s3cret", statuses=[204]).start()
    try:
        manager = make_user("mia", "manager")
        # Subscribed to other events only: it hears of this alert as the rule's own webhook.
        hook, _ = webhook_create(
            url=receiver.url, events=["alias.moved"], secret="s3cret", user=manager
        )
        alert_rule_create(
            model=clinic_version.model, when="drift", webhooks=[hook.pk], user=manager
        )
        _shift(clinic_version)
        assert alerts_evaluate_all()["fired"] == 1
        work_until(lambda: WebhookDelivery.objects.filter(state="delivered").exists())
        assert [r.signed for r in receiver.received] == [True]
        body = json.loads(receiver.received[0].body)
        assert body["event"] == "alert.fired" and body["model"] == "clinic"
        assert body["data"]["when"] == "drift" and body["data"]["state"] == "firing"
    finally:
        receiver.stop()


@pytest.mark.django_db
def test_check_alerts_evaluates_once_and_says_what_happened(clinic_version, capsys):
    alert_rule_create(model=clinic_version.model, when="drift", user=None)
    _shift(clinic_version)
    call_command("check_alerts")
    assert (
        "1 rules checked: 1 fired, 0 resolved, 0 could not be evaluated" in capsys.readouterr().out
    )
