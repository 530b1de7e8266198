"""Raw scikit-learn predict vs. Model Portal's validate-and-predict, one row and 1,000 rows.

    .venv/bin/python bench/predict_one_row.py

Prints milliseconds per call (p50/p90/p99). "raw" is the estimator's own predict_proba (or
predict) on a DataFrame built in advance; "raw+frame" also builds that DataFrame from the dict;
"domain" is Interface.validate + inference.score + JSON records; "stored" is the whole
prediction_run service, which also writes the Prediction row (SQLite here).
"""

import time

import pandas as pd
from _setup import django_with_demo, percentiles

django_with_demo()

from registry.catalog.selectors import model_version_resolve  # noqa: E402
from registry.inference import score  # noqa: E402
from registry.predict.services import prediction_run  # noqa: E402
from registry.runtime import reference_frame, version_estimator, version_interface  # noqa: E402


def timed(fn, repeat: int) -> dict[str, float]:
    for _ in range(min(50, repeat)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def bench(name: str) -> None:
    version = model_version_resolve(name=name)
    interface = version_interface(version)
    estimator = version_estimator(version)
    reference = reference_frame(version)[interface.names]
    predict = estimator.predict_proba if interface.task == "classification" else estimator.predict
    for rows in (1, 1000):
        records = reference.sample(rows, replace=True, random_state=0).to_dict(orient="records")
        frame = interface.validate(records).frame
        repeat = 2000 if rows == 1 else 100
        results = {
            "raw": timed(lambda f=frame: predict(f), repeat),
            "raw+frame": timed(lambda r=records: predict(pd.DataFrame(r)), repeat),
            "domain": timed(
                lambda r=records: score(
                    estimator, interface.validate(r).frame, interface
                ).records(),
                repeat,
            ),
            "stored": timed(
                lambda r=records: prediction_run(version=version, rows=r, user=None, source="api"),
                repeat if rows == 1 else 20,
            ),
        }
        print(
            f"\n{name} v{version.number} ({len(interface.names)} inputs, "
            f"{version.estimator_class.rsplit('.', 1)[-1]}), {rows} row(s), ms per call"
        )
        for label, r in results.items():
            print(f"  {label:<10} p50 {r['p50']:8.3f}  p90 {r['p90']:8.3f}  p99 {r['p99']:8.3f}")
        overhead = results["domain"]["p50"] - results["raw"]["p50"]
        print(f"  domain - raw at p50: {overhead:+.3f} ms")


for model in ("breast-cancer", "diabetes"):
    bench(model)
