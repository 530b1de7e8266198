"""NannyML's CBPE and DLE on bench/_estimate_problem.py's simulations; run by
bench/monitoring_estimates.py in the bench-only venv (`make bench-venv`), never the portal's:

    .venv-bench/bin/python bench/nannyml_run.py --seeds 5 --out /tmp/nannyml.json

Writes, per problem and seed, each period's estimate, its confidence band (NannyML's: the
value ± 3 sampling errors) and its sampling error.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nannyml as nml
import pandas as pd
from _estimate_problem import FEATURES, PERIOD_ROWS, classification, regression


def _chunked(periods: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(periods, ignore_index=True)


def _series(result, metric: str) -> list[dict]:
    frame = result.filter(period="analysis").to_df()
    return [
        {
            "estimate": float(row[(metric, "value")]),
            "low": float(row[(metric, "lower_confidence_boundary")]),
            "high": float(row[(metric, "upper_confidence_boundary")]),
            "sampling_error": float(row[(metric, "sampling_error")]),
        }
        for _, row in frame.iterrows()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    found: dict[str, list] = {"cbpe": [], "dle": []}
    for seed in range(args.seeds):
        reference, periods = classification(seed)
        cbpe = nml.CBPE(
            problem_type="classification_binary",
            y_pred_proba="proba",
            y_pred="pred",
            y_true="y",
            metrics=["accuracy", "roc_auc"],
            chunk_size=PERIOD_ROWS,
        ).fit(reference)
        result = cbpe.estimate(_chunked(periods).drop(columns="y"))
        found["cbpe"].append(
            {"accuracy": _series(result, "accuracy"), "roc_auc": _series(result, "roc_auc")}
        )
        reference, periods = regression(seed)
        dle = nml.DLE(
            feature_column_names=FEATURES,
            y_pred="pred",
            y_true="y",
            metrics=["mae"],
            chunk_size=PERIOD_ROWS,
        ).fit(reference)
        result = dle.estimate(_chunked(periods).drop(columns="y"))
        found["dle"].append({"mae": _series(result, "mae")})
    Path(args.out).write_text(json.dumps(found))


if __name__ == "__main__":
    main()
