"""What a version's dossier states, gathered as plain data (the PDF is drawn by the portal).

Everything here is read from what the portal keeps: the version's record, interface,
evaluation and reference rows, the fairness figures and the recourse the worker measured,
the monitoring of its stored answers and the audit trail. What is missing is said, never
left out silently. The heavy derived parts (metric intervals, global importance) are kept per
version and revision by ``registry.runtime.version_cached``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import numpy as np
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.utils import timezone
from sklearn import metrics as skm

from registry.catalog.evaluation import LOWER_IS_BETTER, metric_probabilities
from registry.catalog.selectors import alias_map
from registry.explain.explanations import explain, score_batch
from registry.explain.selectors import version_background_or_none
from registry.fairness.selectors import positive_class, reference_rows
from registry.fairness.services import fairness_read, favourable_text
from registry.models import AuditEvent, ModelVersion, Promotion
from registry.monitoring.report import monitoring_report
from registry.monitoring.windows import period_parse
from registry.runtime import version_cached, version_estimator, version_interface, version_method

BOOTSTRAP = 200
IMPORTANCE_ROWS = 40
EVENTS = 200


def _bootstrap(version: ModelVersion) -> dict[str, list[float]]:
    """95% percentile bootstrap intervals of the version's metrics on its stored reference
    rows (``BOOTSTRAP`` resamples), by the same scikit-learn functions registration used."""
    rows = reference_rows(version)
    if rows is None or rows.actual is None:
        return {}
    interface = version_interface(version)
    scores = score_batch(version_estimator(version), rows.inputs, interface)
    actual = rows.actual.to_numpy()
    rng = np.random.default_rng(0)
    n = len(actual)
    found: dict[str, list[float]] = {key: [] for key in version.metrics}
    if interface.task == "regression":
        predicted = np.asarray(scores.values, float)
        actual = actual.astype(float)
        funcs = {
            "rmse": lambda a, p: float(np.sqrt(skm.mean_squared_error(a, p))),
            "mae": skm.mean_absolute_error,
            "r2": skm.r2_score,
        }
        for _ in range(BOOTSTRAP):
            i = rng.integers(0, n, n)
            for key, f in funcs.items():
                if key in found:
                    found[key].append(float(f(actual[i], predicted[i])))
    else:
        names = [str(c) for c in scores.classes]
        predicted = np.array([str(v) for v in scores.labels], dtype=object)
        proba = metric_probabilities(scores.probabilities)
        binary = len(names) == 2
        for _ in range(BOOTSTRAP):
            i = rng.integers(0, n, n)
            a, p = actual[i], predicted[i]
            if len(set(a)) < 2:
                continue
            found.get("accuracy", []).append(skm.accuracy_score(a, p))
            found.get("balanced_accuracy", []).append(skm.balanced_accuracy_score(a, p))
            if "f1" in found:
                found["f1"].append(
                    skm.f1_score(
                        a,
                        p,
                        average="binary" if binary else "macro",
                        pos_label=names[1] if binary else 1,
                        zero_division=0,
                    )
                )
            if proba is not None and "log_loss" in found:
                found["log_loss"].append(skm.log_loss(a, proba[i], labels=names))
            if proba is not None and "roc_auc" in found:
                if binary:
                    found["roc_auc"].append(skm.roc_auc_score(a == names[1], proba[i][:, 1]))
                elif set(a) == set(names):
                    found["roc_auc"].append(
                        skm.roc_auc_score(
                            a, proba[i], multi_class="ovr", average="macro", labels=names
                        )
                    )
    return {
        key: [round(float(np.percentile(v, 2.5)), 5), round(float(np.percentile(v, 97.5)), 5)]
        for key, v in found.items()
        if len(v) >= BOOTSTRAP // 2
    }


def metric_intervals(version: ModelVersion) -> dict[str, list[float]]:
    """The version's metric intervals, once per process (revision)."""
    return version_cached(version, "dossier:intervals", lambda: _bootstrap(version))


def _importance(version: ModelVersion) -> dict[str, Any] | None:
    background = version_background_or_none(version)
    rows = reference_rows(version)
    if background is None or rows is None:
        return None
    interface = version_interface(version)
    estimator = version_estimator(version)
    positive = positive_class(interface)
    step = max(1, len(rows.inputs) // IMPORTANCE_ROWS)
    picked = rows.inputs.iloc[::step].head(IMPORTANCE_ROWS)
    effects: dict[str, list[float]] = {n: [] for n in interface.names}
    explained = ""
    for i in range(len(picked)):
        found = explain(
            estimator=estimator,
            interface=interface,
            row=picked.iloc[[i]],
            background=background,
            target_class=positive,
        )
        explained = (
            found.explained
            if positive is not None or interface.task == "regression"
            else "probability of the class each row was given"
        )
        for c in found.contributions:
            effects[c["input"]].append(abs(float(c["effect"])))
    items = [
        {"input": n, "label": interface.label_of(n), "mean_abs_effect": float(np.mean(v))}
        for n, v in effects.items()
        if v
    ]
    items.sort(key=lambda x: -x["mean_abs_effect"])
    return {
        "rows": len(picked),
        "explained": explained,
        "probability": interface.task == "classification",
        "items": items,
    }


def global_importance(version: ModelVersion) -> dict[str, Any] | None:
    """Mean absolute effect per input over up to ``IMPORTANCE_ROWS`` reference rows (the
    explanations' effects, which add up to each answer minus the average answer), once per
    process (revision); None without reference rows or probabilities."""
    return version_cached(version, "dossier:importance", lambda: _importance(version))


def _interface_rows(version: ModelVersion) -> list[dict[str, Any]]:
    interface = version_interface(version)
    out = []
    for f in interface.fields:
        spec = f.spec
        if f.choices:
            observed = ", ".join(f.choices)
        elif f.observed_min is not None:
            observed = f"{f.observed_min:g} – {f.observed_max:g}"
        else:
            observed = ""
        limits = "" if f.min is None and f.max is None else f"{f.min} – {f.max}"
        can = (
            "no"
            if not f.actionable
            else {"any": "yes", "increase": "only up", "decrease": "only down"}[f.direction]
        )
        out.append(
            {
                "name": f.name,
                "label": spec.get("label") or f.name,
                "type": f.type,
                "unit": spec.get("unit") or "",
                "observed": observed,
                "limits": limits,
                "required": f.required,
                "can_change": can,
                "sensitive": f.sensitive,
                "description": spec.get("description") or "",
            }
        )
    return out


def _monitoring(version: ModelVersion) -> dict[str, Any]:
    period = period_parse(version=version)
    report = monitoring_report(version=version, period=period)
    traffic, drift = report["traffic"], report["drift"]
    performance = report.get("performance")
    return {
        "since": report["since"],
        "until": report["until"],
        "answers": traffic.get("answers"),
        "rows": traffic.get("rows"),
        "refused": traffic.get("refused"),
        "latency_ms": traffic.get("latency_ms"),
        "drift_status": drift.get("status"),
        "drifted": [i["input"] for i in drift.get("inputs", []) if i.get("drifted")],
        "performance": None
        if not performance
        else {
            "metric": performance.get("metric"),
            "value": performance.get("value"),
            "interval": performance.get("interval"),
            "labelled": performance.get("labelled"),
            "reference": performance.get("reference"),
        },
    }


def _events(version: ModelVersion) -> list[dict[str, Any]]:
    events = (
        AuditEvent.objects.filter(model=version.model)
        .select_related("actor", "version")
        .order_by("created_at")[:EVENTS]
    )
    return [
        {
            "when": e.created_at.isoformat(timespec="seconds"),
            "who": e.actor.get_username() if e.actor else "system",
            "what": e.get_action_display(),
            "version": e.version.number if e.version else None,
            "details": e.details,
            "details_text": json.dumps(e.details, sort_keys=True, ensure_ascii=False)[:400],
        }
        for e in events
    ]


def _promotions(version: ModelVersion) -> list[dict[str, Any]]:
    """Every request to point an alias at this version, and its decision."""

    def name(user) -> str:
        return user.get_username() if user else ""

    found = Promotion.objects.filter(version=version).select_related("requested_by", "decided_by")
    return [
        {
            "alias": p.alias,
            "state": p.state,
            "requested": f"{p.requested_at.isoformat(timespec='seconds')} {name(p.requested_by)}",
            "comment": p.comment,
            "decided": f"{p.decided_at.isoformat(timespec='seconds')} {name(p.decided_by)}"
            if p.decided_at
            else "",
            "decision_comment": p.decision_comment,
        }
        for p in found.order_by("requested_at")
    ]


def content_hash(content: dict[str, Any]) -> str:
    """The sha256 of everything the dossier states except this hash, the time and person of
    generation and the monitoring period's ends (which move with the clock): two dossiers of
    an unchanged version with no new answers have the same hash."""
    stated = {k: v for k, v in content.items() if k not in ("generated", "content_sha256")}
    stated["monitoring"] = {
        k: v for k, v in stated["monitoring"].items() if k not in ("since", "until")
    }
    return hashlib.sha256(
        json.dumps(stated, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def dossier_content(
    *,
    version: ModelVersion,
    user: User | AnonymousUser | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything the dossier of ``version`` states, as JSON-ready data, with what is missing
    listed in ``missing``."""
    model = version.model
    interface = version_interface(version)
    origin = version.origin or {}
    missing: list[str] = []
    if not version.reference_sample:
        missing.append(
            "Reference data: none was given at registration, so there are no metrics, "
            "evaluation charts, importance, fairness figures or drift."
        )
    elif not version.metrics:
        missing.append("Target: the reference data had no target, so there are no metrics.")
    intended = (origin.get("tags") or {}).get("intended_use") or ""
    if not intended:
        missing.append("Intended use: not recorded (an MLflow tag intended_use gives it).")
    if not model.description:
        missing.append("Purpose: the model has no description.")
    method, steps = version_method(version)
    try:
        fairness = fairness_read(version=version, user=user)
    except ValidationError:
        fairness = None
    if fairness is not None and not fairness["inputs"]:
        missing.append("Fairness: no input is marked sensitive.")
    if fairness is not None and fairness.get("recourse_status") != "succeeded":
        missing.append(f"Recourse: {fairness.get('recourse_message') or 'not measured yet.'}")
    importance = global_importance(version)
    if importance is None and version.reference_sample:
        missing.append("Global importance: this model gives no probabilities to explain.")
    favourable = interface.output.get("favourable")
    content: dict[str, Any] = {
        "model": {
            "name": model.name,
            "title": model.title,
            "task": model.task,
            "purpose": model.description,
            "owner": model.owner.get_username() if model.owner else "",
            "tags": [t.name for t in model.tags.all()],
            "intended_use": intended,
        },
        "version": {
            "number": version.number,
            "revision": version.revision,
            "aliases": sorted(a for a, n in alias_map(model=model).items() if n == version.number),
            "registered_at": version.created_at.isoformat(timespec="seconds"),
            "registered_by": version.created_by.get_username() if version.created_by else "",
            "method": method,
            "preparation_steps": steps,
            "estimator_class": version.estimator_class,
            "framework": f"{version.framework} {version.framework_version}",
            "artifact_sha256": version.artifact_sha256,
            "artifact_size": version.artifact_size,
        },
        "lineage": {
            "source": version.source,
            "parent": version.parent.number if version.parent else None,
            "reference_fingerprint": version.reference_fingerprint,
            "reference_rows": version.reference_rows,
            "sample_rows": len(version.reference_sample),
            "notes": version.notes,
            "breaking_changes": version.breaking_changes,
            "mlflow": {
                k: origin.get(k)
                for k in ("name", "version", "run_id", "url", "mlflow_version", "uri")
                if origin.get(k)
            }
            if origin.get("registry") == "mlflow"
            else None,
        },
        "interface": {
            "inputs": _interface_rows(version),
            "kept": interface.kept,
            "output": {k: interface.output.get(k) for k in ("task", "target", "classes", "unit")},
            "favourable": favourable_text(favourable) if favourable is not None else "",
        },
        "metrics": [
            {
                "key": key,
                "value": value,
                "interval": metric_intervals(version).get(key),
                "lower_is_better": key in LOWER_IS_BETTER,
            }
            for key, value in version.metrics.items()
        ],
        "evaluation": version.evaluation or {},
        "importance": importance,
        "fairness": fairness,
        "monitoring": _monitoring(version),
        "events": _events(version),
        "promotions": _promotions(version),
        "missing": missing,
        "generated": {
            "at": (now or timezone.now()).isoformat(timespec="seconds"),
            "by": user.get_username() if user is not None and user.is_authenticated else "",
        },
    }
    content["content_sha256"] = content_hash(content)
    return content
