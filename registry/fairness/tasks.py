"""Fairness work for the task worker: recourse per group, kept per version and revision."""

from __future__ import annotations

import logging

from django.tasks import task
from django.utils import timezone

from registry.explain.counterfactuals import counterfactual_target
from registry.fairness.recourse import recourse_compute
from registry.fairness.selectors import recourse_rows
from registry.models import JobStatus, VersionReport
from registry.runtime import version_estimator, version_interface

log = logging.getLogger(__name__)


@task()
def recourse_run(report_id: int) -> None:
    """Measure recourse for a queued report (see ``registry.fairness.recourse``)."""
    updated = VersionReport.objects.filter(pk=report_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING
    )
    if not updated:
        return  # done already, or taken by another worker
    report = VersionReport.objects.select_related("version__model").get(pk=report_id)
    version = report.version
    try:
        interface = version_interface(version)
        rows = recourse_rows(version)
        target = counterfactual_target(
            interface=interface, target=interface.output.get("favourable")
        )
        if rows is None:
            raise ValueError("This version has no reference rows.")

        def progress(share: float) -> None:
            VersionReport.objects.filter(pk=report_id).update(progress=share)

        result = recourse_compute(
            estimator=version_estimator(version),
            interface=interface,
            rows=rows,
            target=target,
            progress=progress,
        )
        result["favourable"] = interface.output.get("favourable")
    except Exception as exc:  # a report that cannot be made says why, never retries forever
        log.exception("recourse of %s failed", version)
        VersionReport.objects.filter(pk=report_id).update(
            status=JobStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
        return
    VersionReport.objects.filter(pk=report_id).update(
        status=JobStatus.SUCCEEDED, progress=1.0, result=result, finished_at=timezone.now()
    )
