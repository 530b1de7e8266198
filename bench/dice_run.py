"""DiCE on the counterfactual benchmark's problem; run by bench/counterfactuals_vs_dice.py
in the bench-only venv (`make bench-venv`), never in the portal's:

    .venv-bench/bin/python bench/dice_run.py --method random --out /tmp/dice.json

Same rows, targets and constraints as the portal's search: c1 fixed (features_to_vary), x5 only
up (permitted_range from the row's value), every number within its observed range, 3 answers.
DiCE cannot cap how many inputs change; the caller counts that. Each row gets at most
``--timeout`` seconds (DiCE has no time budget of its own).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dice_ml
from _cf_problem import COUNT, FIXED, INCREASE_ONLY, problem, queries


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=["random", "genetic", "kdtree"], required=True)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--timeout", type=int, default=10)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    frame, target, model = problem()
    rows, targets = queries(frame, model, args.rows)
    numbers = [c for c in frame.columns if c.startswith("x")]
    data = dice_ml.Data(
        dataframe=frame.assign(y=target), continuous_features=numbers, outcome_name="y"
    )
    explainer = dice_ml.Dice(
        data, dice_ml.Model(model=model, backend="sklearn"), method=args.method
    )
    vary = [c for c in frame.columns if c not in FIXED]
    signal.signal(signal.SIGALRM, _alarm)
    results = []
    for i in range(len(rows)):
        query = rows.iloc[[i]]
        ranges = {
            INCREASE_ONLY: [float(query[INCREASE_ONLY].iloc[0]), float(frame[INCREASE_ONLY].max())]
        }
        started = time.perf_counter()
        found, error = [], ""
        signal.alarm(args.timeout)
        try:
            seeded = {"random_seed": 0} if args.method == "random" else {}
            result = explainer.generate_counterfactuals(
                query,
                total_CFs=COUNT,
                desired_class=targets[i],
                features_to_vary=vary,
                permitted_range=ranges,
                verbose=False,
                **seeded,
            )
            cfs = result.cf_examples_list[0].final_cfs_df
            if cfs is not None:
                found = json.loads(cfs.drop(columns="y", errors="ignore").to_json(orient="records"))
        except Timeout:
            error = f"no answer within {args.timeout} s"
        except Exception as exc:  # DiCE's own failures are results to report, not crashes
            error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            signal.alarm(0)
        results.append(
            {"seconds": time.perf_counter() - started, "counterfactuals": found, "error": error}
        )
    Path(args.out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
