"""GrowthBook's gbstats 0.8.0 as a reference, in a long-lived process that speaks JSON lines.

gbstats pins numpy 1.x and liftlab numpy 2, so the two cannot share an interpreter. This file
has two halves that share only the protocol:

- ``GbstatsWorker`` (standard library only) runs in the tests' or the benchmark's interpreter
  and starts ``python gbstats_worker.py`` in the gbstats virtual environment (`make` builds it
  as .venv-gbstats; ``GBSTATS_PYTHON`` may name another interpreter);
- ``serve`` runs there, imports gbstats and answers one request per line.

A request is ``{"tests": [spec, ...], "comparisons": [comparison, ...]}``, where a comparison is
``{"statistic": "mean" | "proportion", "control": [n, sum, sum_sq], "treatment": [...]}``, or for
the other kinds (``KINDS``) ``{"statistic": kind, "control": {field: value}, "treatment": ...}``
with the keyword arguments of that gbstats statistic, a nested statistic as ``{"n", "sum",
"sum_squares"}`` (a proportion without ``"sum_squares"``). A spec is ``{"method": "fixed" |
"sequential" | "bayesian", "difference": "relative" | "absolute", "alpha": a}`` plus ``"tuning"``
(sequential) or ``"prior": {"mean", "variance", "proper"}`` and ``"inverse"`` (bayesian). The
answer holds, per spec, one result per comparison and the seconds gbstats spent on them: one
test object and one ``compute_result`` each, the fastest way gbstats offers (its statistics are
built beforehand, outside the timing). A statistic this gbstats lacks (``cuped_ratio`` before
``RegressionAdjustedRatioStatistic``) is reported per comparison as ``{"raised": ...}``, as is an
exception in gbstats. Each result also gives the θ gbstats used (``None`` but for regression
adjustment). JSON carries floats exactly (``repr`` round-trips), nan and inf included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

GBSTATS_VERSION = "0.8.0"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = ROOT / ".venv-gbstats" / "bin" / "python"

Spec = dict[str, Any]
Comparison = dict[str, Any]

# The statistic kinds given by keyword, and the gbstats class of each.
KINDS = {
    "ratio": "RatioStatistic",
    "cuped": "RegressionAdjustedStatistic",
    "cuped_ratio": "RegressionAdjustedRatioStatistic",
    "quantile": "QuantileStatistic",
    "quantile_clustered": "QuantileClusteredStatistic",
}
# gbstats types these fields as int (pydantic refuses a float with a fractional part).
_COUNTS = ("n", "n_star", "n_clusters")


def gbstats_python() -> Path | None:
    """The interpreter of the gbstats venv: ``GBSTATS_PYTHON`` or .venv-gbstats; None if absent."""
    python = Path(os.environ.get("GBSTATS_PYTHON", DEFAULT_PYTHON))
    return python if python.is_file() else None


class GbstatsWorker:
    """One gbstats process for many requests: importing gbstats costs a second, a request ~1 ms."""

    def __init__(self, python: Path) -> None:
        self._process = subprocess.Popen(
            [str(python), __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.version: str = self._receive()["version"]

    def run(self, tests: list[Spec], comparisons: list[Comparison]) -> dict[str, Any]:
        """gbstats' answers: ``results[spec][comparison]`` and ``seconds[spec]``."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"tests": tests, "comparisons": comparisons}) + "\n")
        self._process.stdin.flush()
        return self._receive()

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)

    def _receive(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the gbstats worker exited ({self._process.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the gbstats worker failed:\n{answer['error']}")
        return answer


def serve() -> None:
    """Answer requests from stdin until it closes; a failed request is reported, not fatal."""
    from importlib.metadata import version

    _send({"version": version("gbstats")})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            _send(answer(request["tests"], request["comparisons"]))
        except Exception:
            _send({"error": traceback.format_exc()})


def answer(tests: list[Spec], comparisons: list[Comparison]) -> dict[str, Any]:
    """Every spec over every comparison, timed per spec."""
    pairs = [_pair(c) for c in comparisons]
    results, seconds = [], []
    for spec in tests:
        make_test, read = _method(spec)
        start = time.perf_counter()
        outcomes = [_attempt(make_test, pair) for pair in pairs]
        seconds.append(time.perf_counter() - start)
        results.append([read(test, outcome) for test, outcome in outcomes])
    return {"results": results, "seconds": seconds}


def _pair(comparison: Comparison) -> tuple[Any, Any] | Exception:
    """gbstats' (control, treatment) statistics, or why this gbstats cannot build them."""
    try:
        return _statistic(comparison, "control"), _statistic(comparison, "treatment")
    except Exception as error:
        return error


def _statistic(comparison: Comparison, arm: str) -> Any:
    from gbstats.models import statistics

    kind, values = comparison["statistic"], comparison[arm]
    if kind in KINDS:
        return getattr(statistics, KINDS[kind])(**_keywords(values))
    n, total, total_sq = values
    if kind == "proportion":
        return statistics.ProportionStatistic(n=int(n), sum=total)
    return statistics.SampleMeanStatistic(n=int(n), sum=total, sum_squares=total_sq)


def _keywords(values: dict[str, Any]) -> dict[str, Any]:
    """A statistic's keyword arguments: nested statistics built, counts made int."""
    from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic

    keywords: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            nested = _keywords(value)
            kind = SampleMeanStatistic if "sum_squares" in nested else ProportionStatistic
            keywords[name] = kind(**nested)
        else:
            keywords[name] = int(value) if name in _COUNTS else value
    return keywords


def _method(spec: Spec) -> tuple[Any, Any]:
    """A factory of gbstats test objects for ``spec`` (config built once) and its reader."""
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
    from gbstats.frequentist.tests import (
        FrequentistConfig,
        SequentialConfig,
        SequentialTwoSidedTTest,
        TwoSidedTTest,
    )

    common = {"difference_type": spec["difference"], "alpha": spec["alpha"]}
    if spec["method"] == "fixed":
        config = FrequentistConfig(**common)
        return (lambda a, b: TwoSidedTTest(a, b, config)), _read_frequentist
    if spec["method"] == "sequential":
        config = SequentialConfig(**common, sequential_tuning_parameter=spec["tuning"])
        return (lambda a, b: SequentialTwoSidedTTest(a, b, config)), _read_frequentist
    config = EffectBayesianConfig(
        **common,
        inverse=spec["inverse"],
        prior_type=spec["difference"],  # the prior is on the effect's own scale, as liftlab's
        prior_effect=GaussianPrior(**spec["prior"]),
    )
    return (lambda a, b: EffectBayesianABTest(a, b, config)), _read_bayesian


def _attempt(make_test: Any, pair: tuple[Any, Any] | Exception) -> tuple[Any, Any]:
    """(test, result), or (test, the exception) so that one comparison cannot sink a request."""
    if isinstance(pair, Exception):
        return None, pair
    try:
        test = make_test(*pair)
        return test, test.compute_result()
    except Exception as error:
        return None, error


def _read_frequentist(test: Any, result: Any) -> dict[str, Any]:
    if isinstance(result, Exception):
        return {"raised": repr(result)}
    return {
        "estimate": result.expected,
        "ci": list(result.ci),
        "sd": result.uplift.stddev,
        "p_value": result.p_value,
        # gbstats' own output does not carry the df; read it where the test computed one.
        "df": test.dof if result.error_message is None else None,
        "error": result.error_message,
        "theta": _theta(test),
    }


def _read_bayesian(test: Any, result: Any) -> dict[str, Any]:
    if isinstance(result, Exception):
        return {"raised": repr(result)}
    return {
        "estimate": result.expected,
        "ci": list(result.ci),
        "sd": result.uplift.stddev,
        "chance_to_win": result.chance_to_win,
        "risk": list(result.risk),
        "error": result.error_message,
        "theta": _theta(test),
    }


def _theta(test: Any) -> float | None:
    """The θ the test set on its control (gbstats sets it while building the test), if any."""
    return getattr(test.stat_a, "theta", None)


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    serve()
