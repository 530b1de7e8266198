# ruff: noqa: E402  (Django must be set up before the registry is imported)
"""Counterfactual search: the portal's against DiCE 0.12 (random and genetic), same rows.

    make bench-venv                                   # DiCE in its own venv, once
    .venv/bin/python bench/counterfactuals_vs_dice.py [--rows 100] [--no-dice]

The problem (bench/_cf_problem.py): a 10-input forest pipeline (eight numbers, two one-hot
categories, three classes); 100 reference rows, each asked for its second most probable class;
c1 may not change, x5 may only go up, at most 2 inputs change, 3 answers wanted, numbers within
their observed range. DiCE runs in .venv-bench (bench/dice_run.py) with the same constraints
where it has them (features_to_vary, permitted_range); it cannot cap the number of changes, so
its answers are judged on it like ours. Every answer of every method is re-scored here by the
same model. Prints, per method: success (rows with at least one answer that gets the target and
keeps every constraint), validity (answers that get the target), answers keeping every
constraint, sparsity (inputs changed), cost of the cheapest good answer (change in spreads, as
the portal ranks) and time per row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import django
from django.conf import settings

if not settings.configured:
    settings.configure()
    django.setup()

from _cf_problem import COUNT, FIXED, INCREASE_ONLY, MAX_CHANGES, problem, queries

from bench._setup import percentiles
from registry.explain.counterfactuals import Target, _spread, counterfactuals_find
from registry.interface import Interface, frame_records, interface_infer

BENCH_PYTHON = HERE.parent / ".venv-bench" / "bin" / "python"


def ours(interface, model, reference, rows, targets) -> list[dict]:
    results = []
    for i in range(len(rows)):
        row = interface.validate([frame_records(rows.iloc[[i]])[0]]).frame
        started = time.perf_counter()
        search = counterfactuals_find(
            estimator=model,
            interface=interface,
            row=row,
            target=Target(label=str(targets[i])),
            reference=reference,
            fixed=FIXED,
            max_changes=MAX_CHANGES,
            count=COUNT,
        )
        results.append(
            {
                "seconds": time.perf_counter() - started,
                "counterfactuals": [c["inputs"] for c in search.counterfactuals],
                "error": "",
            }
        )
    return results


def dice(method: str, rows: int) -> list[dict] | str:
    if not BENCH_PYTHON.exists():
        return "no .venv-bench (make bench-venv)"
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    done = subprocess.run(
        [
            str(BENCH_PYTHON),
            str(HERE / "dice_run.py"),
            "--method",
            method,
            "--rows",
            str(rows),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return json.loads(out.read_text())


def judge(results, rows, targets, model, frame, spreads) -> dict[str, float]:
    numbers = [c for c in frame.columns if c.startswith("x")]
    low, high = frame[numbers].min(), frame[numbers].max()
    answers = good = changed_total = successes = errors = 0
    best_costs = []
    for i, result in enumerate(results):
        errors += bool(result["error"])
        cfs = result["counterfactuals"]
        if not cfs:
            continue
        original = rows.iloc[i]
        candidates = pd.DataFrame(cfs)[list(frame.columns)]
        for name in numbers:
            candidates[name] = candidates[name].astype(float)
        reached = model.predict(candidates) == targets[i]
        costs = []
        for j, (_, cf) in enumerate(candidates.iterrows()):
            moved = [
                n
                for n in frame.columns
                if (
                    abs(float(cf[n]) - float(original[n])) > 1e-9
                    if n in numbers
                    else cf[n] != original[n]
                )
            ]
            keeps = (
                not set(moved) & set(FIXED)
                and float(cf[INCREASE_ONLY]) >= float(original[INCREASE_ONLY]) - 1e-9
                and all(low[n] - 1e-9 <= float(cf[n]) <= high[n] + 1e-9 for n in numbers)
                and len(moved) <= MAX_CHANGES
            )
            answers += 1
            changed_total += len(moved)
            if reached[j] and keeps:
                good += 1
                costs.append(
                    sum(
                        abs(float(cf[n]) - float(original[n])) / spreads[n] if n in numbers else 1.0
                        for n in moved
                    )
                )
        if costs:
            successes += 1
            best_costs.append(min(costs))
    times = [r["seconds"] * 1000 for r in results]
    p = percentiles(times)
    valid = sum(
        int(
            (
                model.predict(pd.DataFrame(r["counterfactuals"])[list(frame.columns)]) == targets[i]
            ).sum()
        )
        for i, r in enumerate(results)
        if r["counterfactuals"]
    )
    return {
        "success": successes / len(results),
        "validity": valid / answers if answers else float("nan"),
        "keeps": good / answers if answers else float("nan"),
        "sparsity": changed_total / answers if answers else float("nan"),
        "cost": float(np.mean(best_costs)) if best_costs else float("nan"),
        "p50": p["p50"],
        "p90": p["p90"],
        "max": max(times),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--no-dice", action="store_true")
    args = parser.parse_args()
    frame, target, model = problem()
    rows, targets = queries(frame, model, args.rows)
    spec = interface_infer(estimator=model, reference=frame.assign(y=target), target="y").to_dict()
    for item in spec["inputs"]:
        if item["name"] == INCREASE_ONLY:
            item["direction"] = "increase"
    interface = Interface(spec)
    reference = interface.validate(frame_records(frame)).frame
    spreads = {f.name: _spread(f, reference) for f in interface.fields}
    methods = {"portal": ours(interface, model, reference, rows, targets)}
    if not args.no_dice:
        for method in ("random", "genetic"):
            methods[f"DiCE {method}"] = dice(method, args.rows)
    print(
        f"{args.rows} rows, target: second most probable class; c1 fixed, x5 only up, "
        f"<= {MAX_CHANGES} changes, {COUNT} answers wanted"
    )
    print(
        f"{'method':<14} {'success':>8} {'validity':>9} {'keeps all':>10} {'changed':>8} "
        f"{'best cost':>10} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8} {'errors':>7}"
    )
    for name, results in methods.items():
        if isinstance(results, str):
            print(f"{name:<14} could not run: {results}")
            continue
        m = judge(results, rows, targets, model, frame, spreads)
        print(
            f"{name:<14} {m['success']:>8.0%} {m['validity']:>9.0%} {m['keeps']:>10.0%} "
            f"{m['sparsity']:>8.2f} {m['cost']:>10.2f} {m['p50']:>8.0f} {m['p90']:>8.0f} "
            f"{m['max']:>8.0f} {m['errors']:>7}"
        )


if __name__ == "__main__":
    main()
