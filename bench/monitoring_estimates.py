"""Estimated performance without labels: the portal's CBPE and DLE against NannyML's.

    .venv/bin/python bench/monitoring_estimates.py            # with NannyML if .venv-bench has it
    SEEDS=10 .venv/bin/python bench/monitoring_estimates.py   # more simulations
    .venv/bin/python bench/monitoring_estimates.py --no-nannyml

On bench/_estimate_problem.py's seeded simulations (known P(y|x), a covariate shift only,
20 periods of 500 rows, 500 labelled reference rows): the mean absolute error between each
period's estimate and the figure its labels show (accuracy and ROC AUC of a random forest,
MAE of a gradient-boosted regressor), ours beside NannyML's (run in .venv-bench by
bench/nannyml_run.py, never a portal dependency), and how often each 95% interval holds the
realized figure (NannyML's band is ±3 sampling errors; its ±1.96 is shown too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _estimate_problem import FEATURES, classification, regression  # noqa: E402

from registry.monitoring.estimate import (  # noqa: E402
    calibration_fit,
    cbpe_estimate,
    dle_estimate,
    error_model_fit,
    realized,
)

SEEDS = int(os.environ.get("SEEDS", "5"))
BENCH_PYTHON = HERE.parent / ".venv-bench" / "bin" / "python"
INPUTS = [{"name": n, "type": "number"} for n in FEATURES]


def ours() -> tuple[dict, dict, float]:
    """Our estimates and the realized figures: {metric: [[per period] per seed]}."""
    found: dict[str, list] = {"accuracy": [], "roc_auc": [], "mae": []}
    truth: dict[str, list] = {"accuracy": [], "roc_auc": [], "mae": []}
    started = time.perf_counter()
    for seed in range(SEEDS):
        reference, periods = classification(seed)
        proba = reference.proba.to_numpy()
        calibration = calibration_fit(
            np.column_stack([1 - proba, proba]), reference.y.to_numpy(), ["0", "1"]
        )
        for metric in ("accuracy", "roc_auc"):
            found[metric].append([])
            truth[metric].append([])
            for period in periods:
                p = period.proba.to_numpy()
                matrix = np.column_stack([1 - p, p])
                found[metric][-1].append(cbpe_estimate(calibration, matrix, metric=metric))
                truth[metric][-1].append(
                    realized(
                        metric,
                        actual=period.y.to_numpy(),
                        answered=matrix.argmax(axis=1),
                        scores=p,
                    )
                )
        reference, periods = regression(seed)
        model = error_model_fit(
            reference[FEATURES].to_dict("records"),
            INPUTS,
            reference.pred.to_numpy(),
            reference.y.to_numpy(),
        )
        found["mae"].append([])
        truth["mae"].append([])
        for period in periods:
            found["mae"][-1].append(
                dle_estimate(model, period[FEATURES].to_dict("records"), period.pred.to_numpy())
            )
            truth["mae"][-1].append(float(np.mean(np.abs(period.y - period.pred))))
    return found, truth, time.perf_counter() - started


def nannyml() -> tuple[dict | None, str]:
    if not BENCH_PYTHON.exists() or "--no-nannyml" in sys.argv:
        return None, "no .venv-bench (make bench-venv)"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "nannyml.json"
        started = time.perf_counter()
        done = subprocess.run(
            [str(BENCH_PYTHON), str(HERE / "nannyml_run.py"), "--seeds", str(SEEDS), "--out", out],
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - started
        if done.returncode:
            return None, f"NannyML failed: {done.stderr.strip().splitlines()[-1:]}"
        raw = json.loads(out.read_text())
    return {
        "accuracy": [s["accuracy"] for s in raw["cbpe"]],
        "roc_auc": [s["roc_auc"] for s in raw["cbpe"]],
        "mae": [s["mae"] for s in raw["dle"]],
    }, f"{took:.1f} s"


def summary(estimates: list[list[dict]], truth: list[list[float]], z: float | None = None):
    errors, covered, widths = [], [], []
    for seed_estimates, seed_truth in zip(estimates, truth, strict=True):
        for estimate, real in zip(seed_estimates, seed_truth, strict=True):
            if estimate is None or real is None:
                continue
            errors.append(abs(estimate["estimate"] - real))
            if z is not None:
                low = estimate["estimate"] - z * estimate["sampling_error"]
                high = estimate["estimate"] + z * estimate["sampling_error"]
            else:
                low, high = estimate["low"], estimate["high"]
            covered.append(low <= real <= high)
            widths.append(high - low)
    return np.mean(errors), np.mean(covered), np.mean(widths), len(errors)


def main() -> None:
    found, truth, took = ours()
    theirs, note = nannyml()
    print(
        f"{SEEDS} seeds x 20 periods of 500 rows, 500 labelled reference rows, "
        f"covariate shift only (ours: {took:.1f} s; NannyML: {note})"
    )
    print(f"{'metric':<10}{'who':<22}{'MAE vs realized':>16}{'coverage':>10}{'width':>9}")
    for metric in ("accuracy", "roc_auc", "mae"):
        rows = [("ours (95%)", summary(found[metric], truth[metric]))]
        if theirs:
            rows.append(("NannyML (±3 SE band)", summary(theirs[metric], truth[metric])))
            rows.append(("NannyML (±1.96 SE)", summary(theirs[metric], truth[metric], z=1.96)))
        for who, (error, coverage, width, _) in rows:
            print(f"{metric:<10}{who:<22}{error:>16.4f}{coverage:>10.1%}{width:>9.4f}")


if __name__ == "__main__":
    main()
