"""The drift statistics, seeded: power, false alarms, categories, small windows, segments.

They run on the pure functions (rows in, report out) so a hundred seeds cost seconds.
"""

from __future__ import annotations

import numpy as np

from registry.interface import Interface
from registry.monitoring.stats import input_drift, latency_percentiles, segment_rows

SEEDS = range(100)


def _numbers(k: int) -> Interface:
    return Interface(
        {
            "inputs": [{"name": f"x{i}", "type": "number"} for i in range(k)],
            "output": {"task": "regression", "target": "y"},
        }
    )


def _rows(matrix: np.ndarray) -> list[dict[str, float]]:
    return [{f"x{i}": float(v) for i, v in enumerate(row)} for row in matrix]


def _flagged(shift: float, seed: int, k: int = 1) -> bool:
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(500, k))
    current = rng.normal(size=(300, k))
    current[:, 0] += shift
    report = input_drift(interface=_numbers(k), reference=_rows(reference), current=_rows(current))
    return any(r["input"] == "x0" and r["drifted"] for r in report["inputs"])


def test_it_flags_a_half_sd_shift_in_at_least_99_of_100_seeds():
    assert sum(_flagged(0.5, seed) for seed in SEEDS) >= 99


def test_it_flags_a_half_sd_shift_among_ten_inputs_in_at_least_99_of_100_seeds():
    assert sum(_flagged(0.5, seed, k=10) for seed in SEEDS) >= 99


def test_it_flags_a_0_3_sd_shift_in_at_least_90_of_100_seeds():
    assert sum(_flagged(0.3, seed) for seed in SEEDS) >= 90


def _mixed() -> Interface:
    inputs = [{"name": f"x{i}", "type": "number"} for i in range(7)]
    inputs += [
        {"name": "n", "type": "integer"},
        {"name": "colour", "type": "category", "choices": ["red", "green", "blue", "rare"]},
        {"name": "member", "type": "boolean"},
    ]
    return Interface({"inputs": inputs, "output": {"task": "regression", "target": "y"}})


def _mixed_rows(rng: np.random.Generator, n: int, blue: float = 0.3) -> list[dict]:
    numbers = rng.normal(size=(n, 7))
    # "rare" (1%) is merged into "other" by the chi-square test.
    colours = rng.choice(["red", "green", "blue", "rare"], size=n, p=[0.4, 0.59 - blue, blue, 0.01])
    members = rng.random(n) < 0.3
    counts = rng.poisson(4, size=n)
    return [
        {
            **{f"x{i}": float(v) for i, v in enumerate(numbers[j])},
            "n": int(counts[j]),
            "colour": str(colours[j]),
            "member": bool(members[j]),
        }
        for j in range(n)
    ]


def test_rows_from_the_reference_distribution_raise_a_false_alarm_in_at_most_6_of_100_seeds():
    alarms = 0
    for seed in SEEDS:
        rng = np.random.default_rng(1000 + seed)
        report = input_drift(
            interface=_mixed(), reference=_mixed_rows(rng, 500), current=_mixed_rows(rng, 300)
        )
        assert len(report["inputs"]) == 10
        alarms += report["status"] == "drift"
    assert alarms <= 6


def test_it_flags_a_category_whose_mix_changes_and_names_an_unseen_one():
    rng = np.random.default_rng(7)
    reference = _mixed_rows(rng, 500, blue=0.3)
    current = _mixed_rows(rng, 300, blue=0.15)
    current[0]["colour"] = "violet"
    report = input_drift(interface=_mixed(), reference=reference, current=current)
    colour = next(r for r in report["inputs"] if r["input"] == "colour")
    assert colour["drifted"] and colour["test"] == "chi2"
    assert colour["unseen"] == ["violet"]
    assert report["inputs"][0]["input"] == "colour"  # the drifted input comes first
    assert colour["effect"] > 0.1


def test_a_boolean_whose_share_changes_is_flagged():
    interface = Interface(
        {"inputs": [{"name": "member", "type": "boolean"}], "output": {"task": "regression"}}
    )
    rng = np.random.default_rng(3)
    reference = [{"member": bool(v)} for v in rng.random(500) < 0.3]
    current = [{"member": bool(v)} for v in rng.random(300) < 0.5]
    found = input_drift(interface=interface, reference=reference, current=current)["inputs"][0]
    assert found["test"] == "proportion" and found["drifted"]


def test_fifty_rows_are_not_enough_data_however_far_they_moved():
    rng = np.random.default_rng(0)
    report = input_drift(
        interface=_numbers(3),
        reference=_rows(rng.normal(size=(500, 3))),
        current=_rows(rng.normal(loc=3, size=(50, 3))),
    )
    assert report["status"] == "not_enough_data"
    assert not any(r["drifted"] for r in report["inputs"])
    assert report["rows"] == 50 and report["min_rows"] == 100


def test_latency_percentiles_equal_numpys():
    values = np.random.default_rng(5).lognormal(size=1001)
    found = latency_percentiles(values)
    expected = np.percentile(values, [50, 95, 99])
    assert [found["p50"], found["p95"], found["p99"]] == [round(float(v), 3) for v in expected]


def test_a_shift_inside_one_segment_is_found_with_the_segment_filter():
    interface = Interface(
        {
            "inputs": [
                {"name": "island", "type": "category", "choices": ["Biscoe", "Dream", "Torgersen"]},
                {"name": "mass", "type": "number"},
            ],
            "output": {"task": "regression"},
        }
    )
    rng = np.random.default_rng(11)

    def rows(n: int, dream_shift: float) -> list[dict]:
        islands = rng.choice(["Biscoe", "Dream", "Torgersen"], size=n, p=[0.45, 0.15, 0.4])
        mass = rng.normal(size=n) + np.where(islands == "Dream", dream_shift, 0.0)
        return [{"island": str(i), "mass": float(m)} for i, m in zip(islands, mass, strict=True)]

    reference, current = rows(500, 0.0), rows(1000, 0.6)
    whole = input_drift(interface=interface, reference=reference, current=current)
    assert whole["status"] == "ok"  # diluted among the other islands' rows
    segment = ("island", "Dream")
    narrowed = input_drift(
        interface=interface,
        reference=segment_rows(reference, segment),
        current=segment_rows(current, segment),
    )
    assert narrowed["status"] == "drift"
    assert narrowed["inputs"][0]["input"] == "mass" and narrowed["inputs"][0]["drifted"]


def test_without_reference_rows_nothing_can_be_judged():
    rng = np.random.default_rng(0)
    report = input_drift(
        interface=_numbers(2), reference=[], current=_rows(rng.normal(size=(300, 2)))
    )
    assert report["status"] == "not_enough_data"
