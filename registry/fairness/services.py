"""Writes of fairness: which inputs are sensitive, which answer is favourable, and asking
the worker for recourse. Each edit of the interface is audited and bumps the version's
revision (no new version: no answer changes), so every cached figure follows."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pandas as pd
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from registry import roles
from registry.catalog.services import version_interface_revise
from registry.explain.counterfactuals import counterfactual_target
from registry.fairness.groups import sensitive_check
from registry.fairness.selectors import fairness_report
from registry.fairness.tasks import recourse_run
from registry.interface import Interface, echo, interface_sensitive_set
from registry.models import AuditEvent, JobStatus, ModelVersion, VersionReport


def _reference_values(version: ModelVersion, name: str) -> pd.Series:
    return pd.Series([row.get(name) for row in version.reference_sample], dtype=object)


def _revise(
    version: ModelVersion, updated: dict[str, Any], user: User | AnonymousUser | None, details
) -> ModelVersion:
    return version_interface_revise(
        version=version,
        updated=updated,
        user=user,
        action=AuditEvent.Action.FAIRNESS_SET,
        details=details,
    )


@transaction.atomic
def version_sensitive_set(
    *,
    version: ModelVersion,
    name: str,
    sensitive: bool,
    user: User | AnonymousUser | None,
) -> tuple[ModelVersion, str]:
    """Mark an input, or a column kept from the reference data, sensitive (or not).

    Returns the version and how the input's groups are made. Raises ``ValidationError`` for
    an unknown name, or for a category or text with too many distinct values to compare
    (numbers with many values are binned instead: ``registry.fairness.groups``).
    """
    if not isinstance(sensitive, bool):
        raise ValidationError({"sensitive": ["Give true or false."]})
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    updated = interface_sensitive_set(version.interface, name, sensitive)
    spec = next(i for i in [*updated["inputs"], *updated.get("kept", [])] if i["name"] == name)
    how = sensitive_check(name, spec, _reference_values(version, name)) if sensitive else ""
    was = Interface(version.interface)
    if (name in was.sensitive) == sensitive:
        return version, how
    details = {"inputs": {name: {"sensitive": [not sensitive, sensitive]}}}
    return _revise(version, updated, user, details), how


@transaction.atomic
def version_favourable_set(
    *, version: ModelVersion, favourable: Any, user: User | AnonymousUser | None
) -> ModelVersion:
    """Name the favourable answer (a class; for a regressor a range ``{"min", "max"}``),
    against which recourse is measured; None forgets it."""
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    interface = Interface(version.interface)
    if favourable is not None:
        try:
            counterfactual_target(interface=interface, target=favourable)
        except ValidationError as exc:
            raise ValidationError(
                {"favourable": [m.replace("target", "answer") for m in exc.messages]}
            ) from None
    before = interface.output.get("favourable")
    if before == favourable:
        return version
    updated = interface.to_dict()
    if favourable is None:
        updated["output"].pop("favourable", None)
    else:
        updated["output"]["favourable"] = favourable
    return _revise(version, updated, user, {"favourable": [before, favourable]})


def recourse_key(version: ModelVersion) -> str:
    """What a recourse report is made from: the version's revision (its interface: sensitive
    inputs, favourable answer, what is actionable)."""
    return f"revision-{version.revision}"


def recourse_request(
    *, version: ModelVersion, user: User | AnonymousUser | None = None
) -> VersionReport | None:
    """The recourse report of the version's current revision, asked of the worker once.

    None when there is nothing to compute: no favourable answer named, no sensitive input,
    or no reference rows.
    """
    interface = Interface(version.interface)
    if (
        interface.output.get("favourable") is None
        or not interface.sensitive
        or not version.reference_sample
    ):
        return None
    key = recourse_key(version)
    found = VersionReport.objects.filter(
        version=version, kind=VersionReport.Kind.RECOURSE, key=key
    ).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            report = VersionReport.objects.create(
                version=version,
                kind=VersionReport.Kind.RECOURSE,
                key=key,
                status=JobStatus.QUEUED,
                requested_by=roles.acting_user(user),
            )
    except IntegrityError:  # asked twice at once: the other request made it
        return VersionReport.objects.get(version=version, kind=VersionReport.Kind.RECOURSE, key=key)
    transaction.on_commit(lambda: recourse_run.enqueue(report.pk))
    return report


def favourable_text(favourable: Any) -> str:
    """The favourable answer in words."""
    if isinstance(favourable, Mapping):
        low, high = favourable.get("min"), favourable.get("max")
        if low is not None and high is not None:
            return f"a value between {low:g} and {high:g}"
        return f"a value of at least {low:g}" if low is not None else f"a value of at most {high:g}"
    return echo(favourable).strip("'")


def fairness_read(
    *, version: ModelVersion, on: str = "reference", user: User | AnonymousUser | None = None
) -> dict[str, Any]:
    """:func:`fairness_report` with each group's recourse when the worker has measured it
    (asking it to, once per revision, when it has not): ``recourse_status`` says which."""
    report = copy.deepcopy(fairness_report(version=version, on=on))
    found = recourse_request(version=version, user=user)
    if found is None:
        report["recourse_status"] = "not_available"
        report["recourse_message"] = (
            "Name the favourable answer to measure recourse."
            if version.interface["output"].get("favourable") is None
            else "Recourse needs reference rows and a sensitive input."
        )
        return report
    report["recourse_status"] = found.status
    report["recourse_progress"] = round(found.progress, 3)
    report["recourse_message"] = found.message
    if found.status == JobStatus.SUCCEEDED:
        result = found.result
        report["recourse_seconds"] = result.get("seconds")
        report["recourse_rows"] = result.get("rows")
        for entry in report["inputs"]:
            order = {g["group"]: i for i, g in enumerate(entry["groups"])}
            entry["recourse"] = sorted(
                result.get("inputs", {}).get(entry["input"], []),
                key=lambda r, order=order: order.get(r["group"], len(order)),
            )
    return report
