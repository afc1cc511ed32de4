"""Benchmark: liftlab.stats beside GrowthBook's gbstats 0.8.0, 10,000 comparisons per method.

For each method (fixed-horizon, sequential, Bayesian with gbstats' default flat prior), all on
the relative scale (gbstats' default), the same comparisons, half sample-mean and half
proportion metrics, go through

- liftlab: one vectorised pass per method: summaries built from the arrays, one ``effect`` per
  kind of metric, joined into one ``Effect``, then one method call for every output (estimate,
  interval, sd, and p-value or chance to win and risk). Median and best of ``--repeats``;
- gbstats: the fastest way it offers, one test object and ``compute_result`` per comparison
  (its statistics are built beforehand, outside its timing, so its figure is a lower bound),
  in its own venv through tests/stats/gbstats_worker.py, which reports the time it spent.

Then every output is checked to agree with the tolerances of the tests
(tests/stats/gbstats_reference.py); the run exits with 1 if any does not.

    make .venv-gbstats/.installed      # once; `make test` builds it too
    .venv/bin/python bench/stats.py [--comparisons 10000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/stats, for the reference

from tests.stats.gbstats_reference import (
    bayesian,
    errors,
    excluded,
    fixed,
    gbstats_answers,
    liftlab_answers,
    sequential,
)
from tests.stats.gbstats_worker import GbstatsWorker, Spec, gbstats_python

from liftlab.stats import Effect, Prior, ProportionSummary, SampleSummary, effect

ALPHA = 0.05
METHODS = {
    "fixed-horizon": fixed("relative", ALPHA),
    "sequential": sequential("relative", ALPHA, 5000.0),
    "Bayesian": bayesian("relative", ALPHA, Prior(), inverse=False),
}
EFFECT_FIELDS = [field.name for field in dataclasses.fields(Effect) if field.name != "scale"]


def sufficient_statistics(comparisons: int, seed: int = 20240601) -> dict[str, np.ndarray]:
    """Per-arm (n, Σx, Σx²): the first half sample-mean metrics, the second half proportions.

    Each comparison has a true mean (or rate) and spread shared by both arms, a true lift of a
    few percent for the treatment, and the sampling noise of its arm sizes, so statistics and
    p-values land where real experiments put them.
    """
    rng = np.random.default_rng(seed)
    is_proportion = np.arange(comparisons) >= comparisons // 2
    true_mean = rng.lognormal(3.0, 0.5, comparisons)
    true_sd = true_mean * rng.uniform(0.5, 3.0, comparisons)
    true_rate = rng.uniform(0.02, 0.4, comparisons)
    data = {"proportion": is_proportion}
    for arm, lift in (("c", 1.0), ("t", 1.0 + rng.normal(0.0, 0.02, comparisons))):
        n = rng.integers(200, 50_000, comparisons).astype(np.float64)
        conversions = rng.binomial(n.astype(np.int64), np.clip(true_rate * lift, 0, 1))
        mean = true_mean * lift + rng.normal(0.0, true_sd / np.sqrt(n))
        variance = true_sd**2 * rng.chisquare(n - 1) / (n - 1)
        total = n * mean
        data[f"n_{arm}"] = n
        data[f"sum_{arm}"] = np.where(is_proportion, conversions, total)
        data[f"sum_sq_{arm}"] = np.where(
            is_proportion, conversions, total * mean + (n - 1) * variance
        )
    return data


def summaries(data: dict[str, np.ndarray]) -> list[tuple]:
    """(control, treatment) per kind of metric: sample means first, then proportions."""
    means, proportions = ~data["proportion"], data["proportion"]
    return [
        tuple(
            SampleSummary.of(
                data[f"n_{a}"][means], data[f"sum_{a}"][means], data[f"sum_sq_{a}"][means]
            )
            for a in ("c", "t")
        ),
        tuple(
            ProportionSummary.of(data[f"n_{a}"][proportions], data[f"sum_{a}"][proportions])
            for a in ("c", "t")
        ),
    ]


def liftlab_pass(data: dict[str, np.ndarray], spec: Spec) -> dict[str, np.ndarray]:
    """Everything gbstats reports for ``spec``, for all comparisons, from the raw arrays."""
    parts = [
        effect(control, treatment, spec["difference"]) for control, treatment in summaries(data)
    ]
    joined = Effect(
        parts[0].scale,
        *(np.concatenate([getattr(part, name) for part in parts]) for name in EFFECT_FIELDS),
    )
    return liftlab_answers(spec, joined)


def time_liftlab(data: dict[str, np.ndarray], spec: Spec, repeats: int) -> tuple[float, float]:
    """Best and median seconds of one whole liftlab pass."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        liftlab_pass(data, spec)
        seconds.append(time.perf_counter() - start)
    return min(seconds), float(np.median(seconds))


def comparisons_for_gbstats(data: dict[str, np.ndarray]) -> list[dict]:
    """The same comparisons, in the same order, as the worker reads them."""

    def arm(index: int, a: str) -> list[float]:
        return [float(data[f"{key}_{a}"][index]) for key in ("n", "sum", "sum_sq")]

    return [
        {
            "statistic": "proportion" if data["proportion"][index] else "mean",
            "control": arm(index, "c"),
            "treatment": arm(index, "t"),
        }
        for index in range(data["proportion"].size)
    ]


def agreement(
    data: dict[str, np.ndarray], spec: Spec, results: list[dict]
) -> tuple[int, list[str]]:
    """How many comparisons were left out on purpose, and one line per output compared.

    Each line gives the worst difference in units of the test's tolerance (1 fails) and the
    largest relative difference where the reference exceeds 1e-6 (the floors play no part).
    """
    pairs = summaries(data)
    reasons = np.concatenate([excluded(spec, control, treatment) for control, treatment in pairs])
    compared = reasons == ""
    ours, theirs = liftlab_pass(data, spec), gbstats_answers(spec, results)
    lines = []
    for field, error in errors(ours, theirs).items():
        mine, other = ours[field][compared], theirs[field][compared]
        sizable = np.abs(other) > 1e-6
        relative = np.abs(mine - other)[sizable] / np.abs(other)[sizable]
        worst = float(np.max(error[compared], initial=0.0))
        verdict = "agree" if worst <= 1 else f"DISAGREE in {int(np.sum(error[compared] > 1))}"
        lines.append(
            f"    {field:<15} {verdict:<16} worst {worst:.1e} of the tolerance, "
            f"max relative difference {np.max(relative, initial=0.0):.1e}"
        )
    return int(np.sum(~compared)), lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    python = gbstats_python()
    if python is None:
        sys.exit("no gbstats venv: run `make .venv-gbstats/.installed` (or set GBSTATS_PYTHON)")

    data = sufficient_statistics(args.comparisons)
    worker = GbstatsWorker(python)
    answer = worker.run(list(METHODS.values()), comparisons_for_gbstats(data))
    worker.close()
    proportions = int(data["proportion"].sum())
    print(
        f"{args.comparisons} comparisons ({args.comparisons - proportions} sample-mean, "
        f"{proportions} proportion), relative scale, alpha {ALPHA}; gbstats {worker.version}"
    )
    print(f"{'method':<14} {'liftlab median (best)':>22} {'gbstats':>10} {'ratio':>8}")
    report, failed = [], False
    for (name, spec), seconds, results in zip(
        METHODS.items(), answer["seconds"], answer["results"], strict=True
    ):
        best, median = time_liftlab(data, spec, args.repeats)
        timing = f"{median * 1e3:.2f} ms ({best * 1e3:.2f})"
        print(f"{name:<14} {timing:>22} {seconds:>8.2f} s {seconds / median:>7.0f}x")
        left_out, lines = agreement(data, spec, results)
        failed |= any("DISAGREE" in line for line in lines)
        report += [f"  {name}: {args.comparisons - left_out} compared, {left_out} left out", *lines]
    print("agreement with gbstats (rtol 1e-9; floors as in tests/stats/gbstats_reference.py):")
    print("\n".join(report))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
