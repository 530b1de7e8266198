"""Random edits of a LightGBM model text through the portal's real load path.

    .venv/bin/python bench/fuzz_lightgbm.py [--edits 1500] [--seed 0] [--unchecked]

A valid booster (3 classes, a number and a pandas-categorical input, 20 rounds) is saved as
text; each edit changes one to three tokens of it (a number made negative, huge, off by one,
or another token's; a token deleted or repeated; a line dropped). Every edited file goes to
``registry.kinds.native_from_bytes`` (the checks in Python, then LightGBM for what passed them)
and, when loaded, answers 20 rows. The files are run in a child process that reports each
result before the next file; if the child dies (a segfault or abort in LightGBM's native
code) or stops answering for 10 s (a loop), the parent counts the file as a crash or a hang,
keeps it under /tmp, and starts a new child. Prints the counts: refused by our checks,
refused by LightGBM, loaded and answered, Python errors while answering, crashes, hangs.
``--unchecked`` hands the same files to LightGBM directly (``Booster(model_str=…)``, then
predict), as the portal never does: what the checks stand between. Measures and prints;
never asserts.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def model_text() -> tuple[str, list[dict]]:
    import lightgbm
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=600),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue", "grey"], 600)),
        }
    )
    label = np.digitize(frame["size"] + (frame["colour"] == "red"), [-0.3, 0.6])
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "seed": 0}
    params |= {"min_data_per_group": 5, "num_leaves": 15}
    booster = lightgbm.train(params, lightgbm.Dataset(frame, label), num_boost_round=20)
    rows = frame.head(20).astype({"colour": object}).to_dict("records")
    return booster.model_to_string(), rows


def edit(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        line = lines[i]
        how = rng.random()
        if how < 0.1:
            del lines[i]
            continue
        key, eq, value = line.partition("=")
        if not eq or not value:
            continue
        tokens = value.split(" ")
        j = rng.randrange(len(tokens))
        token = tokens[j]
        if how < 0.2:
            del tokens[j]
        elif how < 0.3:
            tokens.insert(j, token)
        else:
            try:
                number = float(token)
            except ValueError:
                number = None
            choices = ["-1", "0", "1", "2147483647", "-2147483648", "1e308", "nan", "-0.5"]
            if number is not None and number.is_integer():
                choices += [str(int(number) + 1), str(int(number) - 1), str(-int(number) - 1)]
            tokens[j] = rng.choice(choices)
        lines[i] = f"{key}={' '.join(tokens)}"
    return "\n".join(lines)


def child_unchecked(jobs: mp.Queue, results: mp.Queue, rows: list[dict]) -> None:
    import lightgbm
    import pandas as pd

    frame = pd.DataFrame(rows).astype({"colour": "category"})
    while True:
        job = jobs.get()
        if job is None:
            return
        n, data = job
        try:
            booster = lightgbm.Booster(model_str=data.decode("utf-8", "replace"))
        except Exception:
            results.put((n, "lightgbm refused"))
            continue
        try:
            booster.predict(frame)
            results.put((n, "answered"))
        except Exception as exc:
            results.put((n, f"error while answering: {type(exc).__name__}"))


def child(jobs: mp.Queue, results: mp.Queue, rows: list[dict]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    import pandas as pd

    from registry.artifacts.errors import ArtifactError
    from registry.kinds import native_from_bytes

    frame = pd.DataFrame(rows)
    while True:
        job = jobs.get()
        if job is None:
            return
        n, data = job
        try:
            model = native_from_bytes(data)
        except ArtifactError as exc:
            kind = "lightgbm refused" if "LightGBM cannot load" in str(exc) else "checks refused"
            results.put((n, kind))
            continue
        try:
            model.labelled([0, 1, 2]).predict_proba(frame)
            results.put((n, "answered"))
        except Exception as exc:  # a Python error, not a crash: counted apart
            results.put((n, f"error while answering: {type(exc).__name__}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unchecked", action="store_true")
    args = parser.parse_args()
    text, rows = model_text()
    rng = random.Random(args.seed)
    files = [edit(text, rng).encode() for _ in range(args.edits)]
    kept = Path(tempfile.mkdtemp(prefix="fuzz-lightgbm-"))
    counts: Counter[str] = Counter()
    ctx = mp.get_context("spawn")
    n = 0
    while n < len(files):
        jobs, results = ctx.Queue(), ctx.Queue()
        target = child_unchecked if args.unchecked else child
        worker = ctx.Process(target=target, args=(jobs, results, rows), daemon=True)
        worker.start()
        while n < len(files):
            jobs.put((n, files[n]))
            try:
                _, kind = results.get(timeout=30 if n == 0 else 10)
            except Exception:  # no answer: the child died or is stuck on this file
                worker.join(timeout=1)
                kind = "hang" if worker.is_alive() else f"crash (exit {worker.exitcode})"
                worker.kill()
                (kept / f"{n}.txt").write_bytes(files[n])
                counts[kind.split(" (")[0]] += 1
                print(f"  file {n}: {kind}, kept in {kept}")
                n += 1
                break
            counts[kind] += 1
            n += 1
        else:
            jobs.put(None)
            worker.join(timeout=10)
    how = "straight to LightGBM, unchecked" if args.unchecked else "through the portal's checks"
    print(f"{args.edits} edited LightGBM files (seed {args.seed}), {how}:")
    print(json.dumps(dict(counts.most_common()), indent=2))


if __name__ == "__main__":
    main()
