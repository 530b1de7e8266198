"""What reading a release costs: ``GET /api/v1/models/{name}/release/`` (and the model card's
Release section, which reads the same report) with N compared shadow answers.

    .venv/bin/python bench/release_report.py [--pairs 1000 5000] [--feedback 0.2]

Seeds a throwaway SQLite DATA_DIR with the demo models, puts breast-cancer's other version
in shadow, stores N one-row champion answers (a share of them with feedback) and lets the
immediate task backend shadow each one, then times the report (median of 7). Measures and
prints; never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _setup import django_with_demo

django_with_demo()

from registry.catalog.selectors import model_version_resolve, registered_model_get  # noqa: E402
from registry.models import ShadowAnswer  # noqa: E402
from registry.predict.services import prediction_feedback_set, prediction_run  # noqa: E402
from registry.releases.selectors import release_report  # noqa: E402
from registry.releases.services import shadow_start  # noqa: E402
from registry.releases.watch import release_watch_reset  # noqa: E402
from registry.runtime import version_interface  # noqa: E402

MODEL = "breast-cancer"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--feedback", type=float, default=0.2)
    args = parser.parse_args()
    model = registered_model_get(name=MODEL)
    champion = model_version_resolve(name=MODEL)
    other = model.versions.exclude(pk=champion.pk).order_by("-number").first()
    shadow_start(model=model, number=other.number, user=None)
    release_watch_reset()
    names = version_interface(champion).names
    target = champion.interface["output"]["target"]
    sample = champion.reference_sample
    print(
        f"\n{MODEL}: the release report with a shadow (v{other.number} beside v{champion.number})"
    )
    print(f"  {'pairs':>6} {'with feedback':>13} {'report ms':>10}")
    stored = 0
    for goal in sorted(args.pairs):
        while stored < goal:
            row = sample[stored % len(sample)]
            answer = prediction_run(
                version=champion, rows=[{k: row[k] for k in names}], user=None, source="api"
            )
            if stored % round(1 / args.feedback) == 0:
                prediction_feedback_set(prediction=answer.prediction, actual=row[target])
            stored += 1
        pairs = ShadowAnswer.objects.count()
        times = []
        for _ in range(7):
            started = time.perf_counter()
            report = release_report(model=model)
            times.append((time.perf_counter() - started) * 1000)
        labelled = report["shadow"]["performance"]["rows"] if report["shadow"]["performance"] else 0
        print(f"  {pairs:>6} {labelled:>13} {statistics.median(times):>10.1f}")
    print(f"  verdict: {report['shadow']['verdict']}; agreement {report['shadow']['agreement']}")


if __name__ == "__main__":
    sys.exit(main())
