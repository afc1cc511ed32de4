"""Benchmark: liftlab.stats beside GrowthBook's gbstats on 10,000 comparisons.

Times the statistics alone (no queries) for a mix of numeric and conversion
metrics, from the same sufficient statistics, and checks that both engines give
the same numbers where their methods coincide.

gbstats is not a liftlab dependency, and its pins (numpy 1.x, pandas 1.x) clash
with liftlab's, so it runs in a virtual environment of its own:

    python3 -m venv /tmp/gbvenv && /tmp/gbvenv/bin/pip install gbstats
    .venv/bin/python bench/stats.py [--comparisons 10000] [--gbstats-python /tmp/gbvenv/bin/python]

This script then runs itself a second time in that interpreter with
`--gbstats-worker IN OUT`: that half imports only numpy and gbstats, reads the
sufficient statistics from IN (.npz) and writes gbstats' answers and timings to OUT.

Where the methods coincide (gbstats' frequentist TwoSidedTTest, no CUPED, no
sequential testing):
- numeric, absolute: both are Welch's t-test: effect, p-value and interval;
- numeric, relative: both use the same delta-method standard error (gbstats then
  takes a t quantile for the interval, liftlab a normal one, so only the effect
  and its standard error are compared);
- conversion: gbstats runs a t-test with variance p(1 − p), which is liftlab's
  unpooled (Wald) standard error; liftlab tests with the pooled z statistic, so
  the effects and standard errors are compared, absolute and relative.
gbstats answers "no result" (p = 1, interval [0, 0]) when the control mean is 0 or
a variance is 0; those comparisons are left out of the check and counted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the gbstats half runs where liftlab is not installed
    from liftlab.stats import Comparison

NUMERIC, CONVERSION = 0, 1
CHECK_RTOL = 1e-9
# gbstats computes p as 2·(1 − cdf), which keeps only ~1e-16 absolute precision,
# so p-values are compared to 1e-9 relative or 1e-14 absolute, whichever is looser.
P_ATOL = 1e-14


def sufficient_statistics(comparisons: int, seed: int = 20240601) -> dict[str, np.ndarray]:
    """Per-arm (n, Σx, Σx²) for a realistic mix: half numeric, half conversion metrics.

    Each comparison has a true mean (or rate) and spread shared by both arms, a
    true lift of a few percent for the treatment, and the sampling noise of its
    arm sizes, so t statistics and p-values land where real experiments put them.
    """
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 2, comparisons)
    true_mean = rng.lognormal(3.0, 0.5, comparisons)
    true_sd = true_mean * rng.uniform(0.5, 3.0, comparisons)
    true_rate = rng.uniform(0.02, 0.4, comparisons)
    arms = {}
    for arm, lift in (("c", 1.0), ("t", 1.0 + rng.normal(0.0, 0.02, comparisons))):
        n = rng.integers(200, 50_000, comparisons).astype(np.float64)
        conversions = rng.binomial(n.astype(np.int64), np.clip(true_rate * lift, 0, 1))
        mean = true_mean * lift + rng.normal(0.0, true_sd / np.sqrt(n))
        variance = true_sd**2 * rng.chisquare(n - 1) / (n - 1)
        total = n * mean
        is_conversion = kind == CONVERSION
        arms[f"n_{arm}"] = n
        arms[f"sum_{arm}"] = np.where(is_conversion, conversions, total)
        arms[f"sum_sq_{arm}"] = np.where(
            is_conversion, conversions, total * mean + (n - 1) * variance
        )
    return {"kind": kind, **arms}


def liftlab_run(data: dict[str, np.ndarray]) -> dict[int, Comparison]:
    """All comparisons with liftlab: one vectorised call per test kind."""
    from liftlab.stats import SampleSummary, two_proportion_z_test, welch_t_test

    out = {}
    for kind, test in ((NUMERIC, welch_t_test), (CONVERSION, two_proportion_z_test)):
        rows = data["kind"] == kind
        control, treatment = (
            SampleSummary.of(
                data[f"n_{a}"][rows], data[f"sum_{a}"][rows], data[f"sum_sq_{a}"][rows]
            )
            for a in ("c", "t")
        )
        out[kind] = test(control, treatment, 0.05)
    return out


def gbstats_worker(source: Path, target: Path) -> None:
    """The gbstats half: one TwoSidedTTest per comparison, as gbstats' own runner does."""
    from importlib.metadata import version

    from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
    from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic

    data = dict(np.load(source))
    rows = list(
        zip(
            *(
                data[k].tolist()
                for k in ("kind", "n_c", "sum_c", "sum_sq_c", "n_t", "sum_t", "sum_sq_t")
            ),
            strict=True,
        )
    )

    def statistic(kind: int, n: float, total: float, total_sq: float):
        if kind == CONVERSION:
            return ProportionStatistic(n=int(n), sum=total)
        return SampleMeanStatistic(n=int(n), sum=total, sum_squares=total_sq)

    results: dict[str, np.ndarray] = {"version": np.array(version("gbstats"))}
    for difference in ("relative", "absolute"):
        config = FrequentistConfig(difference_type=difference, alpha=0.05)
        start = time.perf_counter()
        answers = [
            TwoSidedTTest(
                statistic(k, nc, sc, qc), statistic(k, nt, st, qt), config
            ).compute_result()
            for k, nc, sc, qc, nt, st, qt in rows
        ]
        results[f"{difference}_seconds"] = np.array(time.perf_counter() - start)
        results[f"{difference}_expected"] = np.array([a.expected for a in answers])
        results[f"{difference}_stddev"] = np.array([a.uplift.stddev for a in answers])
        results[f"{difference}_ci"] = np.array([a.ci for a in answers])
        results[f"{difference}_p"] = np.array([a.p_value for a in answers])
        results[f"{difference}_ok"] = np.array([a.error_message is None for a in answers])
    np.savez(target, **results)


def run_gbstats(python: str, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the gbstats half in its own interpreter and read back its answers."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "in.npz"), Path(folder, "out.npz")
        np.savez(source, **data)
        subprocess.run([python, __file__, "--gbstats-worker", str(source), str(target)], check=True)
        return dict(np.load(target))


def check_agreement(
    data: dict[str, np.ndarray], ours: dict[int, Comparison], theirs: dict[str, np.ndarray]
) -> list[str]:
    """Compare where the methods coincide; return one line per check."""
    lines = []
    for kind, name in ((NUMERIC, "numeric"), (CONVERSION, "conversion")):
        rows = data["kind"] == kind
        gb = {
            key: value[rows]
            for key, value in theirs.items()
            if value.ndim and len(value) == rows.size
        }
        result = ours[kind]
        skipped = int(np.sum(~(gb["absolute_ok"] & gb["relative_ok"])))
        lines.append(f"{name}: gbstats gave no result for {skipped} comparisons")
        checks = [
            ("absolute effect", result.absolute_lift, gb["absolute_expected"], "absolute"),
            ("absolute standard error", result.se, gb["absolute_stddev"], "absolute"),
            ("relative effect", result.relative_lift, gb["relative_expected"], "relative"),
            ("relative standard error", result.relative_se, gb["relative_stddev"], "relative"),
        ]
        if kind == NUMERIC:
            checks += [
                ("Welch p-value", result.p_value, gb["absolute_p"], "absolute"),
                ("Welch interval low", result.ci_low, gb["absolute_ci"][:, 0], "absolute"),
                ("Welch interval high", result.ci_high, gb["absolute_ci"][:, 1], "absolute"),
            ]
        for label, mine, other, difference in checks:
            ok = gb[f"{difference}_ok"]
            lines.append(f"  {f'{name} {label}':<36} " + _agreement(mine[ok], other[ok]))
    return lines


def _agreement(mine: np.ndarray, theirs: np.ndarray) -> str:
    """'agree' or how many disagree, with the largest relative difference."""
    close = np.isclose(mine, theirs, rtol=CHECK_RTOL, atol=P_ATOL)
    above_floor = np.abs(theirs) > P_ATOL / CHECK_RTOL  # where rtol, not atol, decides
    relative = np.abs(mine - theirs)[above_floor] / np.abs(theirs)[above_floor]
    worst = np.max(relative, initial=0.0)
    verdict = "agree" if close.all() else f"DISAGREE in {np.sum(~close)}"
    return (
        f"{verdict} (n={close.size}; max rel diff {worst:.1e} where |x| > {P_ATOL / CHECK_RTOL:g})"
    )


def time_liftlab(data: dict[str, np.ndarray], repeats: int) -> tuple[float, float]:
    """Best and median wall time of the whole liftlab pass over all comparisons."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        liftlab_run(data)
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=10_000)
    parser.add_argument("--gbstats-python", default="/tmp/gbvenv/bin/python")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--gbstats-worker", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gbstats_worker:
        gbstats_worker(*map(Path, args.gbstats_worker))
        return

    data = sufficient_statistics(args.comparisons)
    best, median = time_liftlab(data, args.repeats)
    theirs = run_gbstats(args.gbstats_python, data)
    gb_relative, gb_absolute = float(theirs["relative_seconds"]), float(theirs["absolute_seconds"])
    numeric = int(np.sum(data["kind"] == NUMERIC))
    conversion = args.comparisons - numeric
    version = theirs["version"]
    print(f"{args.comparisons} comparisons ({numeric} numeric, {conversion} conversion)")
    print(f"liftlab (absolute + relative, one call per test): best {best * 1e3:.2f} ms,", end=" ")
    print(f"median {median * 1e3:.2f} ms over {args.repeats} runs")
    print(f"gbstats {version} TwoSidedTTest, relative (its default): {gb_relative:.3f} s")
    print(f"gbstats {version} TwoSidedTTest, absolute:               {gb_absolute:.3f} s")
    print(f"speed ratio (gbstats relative / liftlab median): {gb_relative / median:.0f}x")
    print("agreement where the methods coincide (rtol 1e-9):")
    lines = check_agreement(data, liftlab_run(data), theirs)
    print("\n".join(lines))
    if any("DISAGREE" in line for line in lines):
        sys.exit(1)


if __name__ == "__main__":
    main()
