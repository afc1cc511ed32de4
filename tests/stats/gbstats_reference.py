"""liftlab's answers in gbstats' terms, where the two differ on purpose, and how close they agree.

Shared by tests/stats/test_stats_gbstats.py (one comparison per hypothesis example) and
bench/stats.py (10,000 at once), so both hold liftlab to one standard. Agreement is 1e-9
relative; three absolute floors stand for precision gbstats' own arithmetic does not have:

- p-values and chances to win: gbstats computes 2·(1 − cdf) and, for inverse metrics,
  1 − sf, so anything below ~1e-16 is lost to the rounding of a number near 1:
  ``P_ATOL`` = 1e-15.
- risk: gbstats multiplies (1 − cdf) by a truncated-normal mean, so the losing arm's risk
  carries an absolute error of ~1e-16 times the posterior sd: ``RISK_ATOL`` = 1e-15 of it.
- interval bounds and estimates are compared relative to |estimate| + half-width, since a
  bound near 0 is the difference of two much larger numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from liftlab.stats import (
    AdjustedSummary,
    Bayesian,
    Effect,
    FixedHorizon,
    Prior,
    ProportionSummary,
    Sequential,
    Summary,
    effect,
)

from .gbstats_worker import Spec

RTOL = 1e-9
P_ATOL = 1e-15
RISK_ATOL = 1e-15

NO_SPREAD = "an arm without spread (or n < 2): gbstats answers by default or tests a residue"
ZERO_CONTROL = "control mean 0: gbstats answers by default"
NEGATIVE_CONTROL = "negative control mean, relative: gbstats divides by m_c, liftlab by |m_c|"
FAR_TAIL = "|estimate/se| above 1e8, Bayesian: gbstats' truncated-normal risk overflows or is nan"
CUPED_RELATIVE = (
    "regression-adjusted, relative: gbstats 0.8.0's variance is the generic delta formula, "
    "liftlab's that of gbstats' later frequentist_variance_relative_cuped"
)
BINOMIAL_COVARIANCE = (
    "regression-adjusted proportions: gbstats 0.8.0 divides Σxy − ΣxΣy/n by n − 1, liftlab by n "
    "(as gbstats' later compute_covariance)"
)


def fixed(difference: str, alpha: float) -> Spec:
    return {"method": "fixed", "difference": difference, "alpha": alpha}


def sequential(difference: str, alpha: float, tuning: float) -> Spec:
    return {"method": "sequential", "difference": difference, "alpha": alpha, "tuning": tuning}


def bayesian(difference: str, alpha: float, prior: Prior, inverse: bool) -> Spec:
    """gbstats' flat prior is ``proper=False`` (its variance then unused)."""
    proper = prior.sd is not None
    gaussian = {"mean": prior.mean, "variance": prior.sd**2 if proper else 1.0, "proper": proper}
    return {
        "method": "bayesian",
        "difference": difference,
        "alpha": alpha,
        "prior": gaussian,
        "inverse": inverse,
    }


def liftlab_answers(spec: Spec, measured: Effect) -> dict[str, np.ndarray]:
    """What liftlab says for ``spec``, under the names `gbstats_answers` gives gbstats' output."""
    alpha = spec["alpha"]
    if spec["method"] == "bayesian":
        return _bayesian_answers(spec, measured)
    if spec["method"] == "fixed":
        method: FixedHorizon | Sequential = FixedHorizon(measured)
    else:
        method = Sequential(measured, alpha, spec["tuning"])
    low, high = method.interval(alpha)
    return {
        "estimate": measured.estimate,
        "low": low,
        "high": high,
        "sd": measured.se,
        "p_value": method.p_value,
        "df": measured.df,
    }


def _bayesian_answers(spec: Spec, measured: Effect) -> dict[str, np.ndarray]:
    gaussian = spec["prior"]
    prior = (
        Prior(gaussian["mean"], np.sqrt(gaussian["variance"])) if gaussian["proper"] else Prior()
    )
    posterior = Bayesian(measured, prior, -1.0 if spec["inverse"] else 1.0)
    low, high = posterior.interval(spec["alpha"])
    risk_control, risk_treatment = posterior.risk
    return {
        "estimate": posterior.posterior_mean,
        "low": low,
        "high": high,
        "sd": posterior.posterior_sd,
        "chance_to_win": posterior.chance_to_win,
        "risk_control": risk_control,
        "risk_treatment": risk_treatment,
    }


def gbstats_answers(spec: Spec, results: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The worker's results as arrays; ``answered`` is False for default output or an exception."""

    def column(read: Any) -> np.ndarray:
        return np.array([np.nan if "raised" in r else read(r) for r in results], dtype=float)

    columns = {
        "estimate": column(lambda r: r["estimate"]),
        "low": column(lambda r: r["ci"][0]),
        "high": column(lambda r: r["ci"][1]),
        "sd": column(lambda r: r["sd"]),
        "answered": np.array([r.get("error", "raised") is None for r in results]),
    }
    if spec["method"] == "bayesian":
        columns["chance_to_win"] = column(lambda r: r["chance_to_win"])
        columns["risk_control"] = column(lambda r: r["risk"][0])
        columns["risk_treatment"] = column(lambda r: r["risk"][1])
    else:
        columns["p_value"] = column(lambda r: r["p_value"])
        columns["df"] = column(lambda r: np.nan if r["df"] is None else r["df"])
    return columns


def excluded(spec: Spec, control: Summary, treatment: Summary) -> np.ndarray:
    """Per comparison, why liftlab and gbstats differ there ("" where they must agree).

    gbstats' variance is the textbook Σx² − (Σx)²/n, so an arm of one repeated value has a
    rounding residue as variance (0.1 five times: 1.7e-18): gbstats then either answers by
    default (residue ≤ 0) or tests that residue as if it were spread. liftlab reads it as 0.
    gbstats defaults where the control's adjusted or unadjusted mean is 0, and its 0.8.0 differs
    from its later source, which liftlab follows, for regression adjustment (`adjusted_reason`).
    """
    with np.errstate(invalid="ignore"):
        no_spread = ~(control.variance > 0) | ~(treatment.variance > 0)
    relative = spec["difference"] == "relative"
    guarded = relative or spec["method"] != "bayesian"  # gbstats' Bayesian absolute test runs
    measured = effect(control, treatment, spec["difference"])
    with np.errstate(all="ignore"):
        far = (spec["method"] == "bayesian") & (np.abs(measured.estimate / measured.se) > 1e8)
    adjusted = adjusted_reason(spec, control)
    return np.select(
        [
            no_spread,
            guarded & ((control.mean == 0) | (control.unadjusted_mean == 0)),
            relative & (control.unadjusted_mean < 0),
            far,
            np.full(measured.shape, bool(adjusted)),
        ],
        [NO_SPREAD, ZERO_CONTROL, NEGATIVE_CONTROL, FAR_TAIL, adjusted],
        default="",
    )


def adjusted_reason(spec: Spec, control: Summary) -> str:
    """Why gbstats 0.8.0 differs on a regression-adjusted mean or proportion ("" if it does not)."""
    if not isinstance(control, AdjustedSummary):
        return ""
    if isinstance(control.post, ProportionSummary):
        return BINOMIAL_COVARIANCE
    return CUPED_RELATIVE if spec["difference"] == "relative" else ""


def errors(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per field of ``ours``, |liftlab − gbstats| in units of the tolerance: above 1 fails.

    Equal values (infinities included) are 0; nan on either side alone is inf.
    """
    scale = np.abs(theirs["estimate"]) + (theirs["high"] - theirs["low"]) / 2.0
    out = {}
    for field, mine in ours.items():
        reference = theirs[field]
        tolerance = _tolerance(field, reference, scale, theirs["sd"])
        with np.errstate(divide="ignore", invalid="ignore"):
            error = np.abs(mine - reference) / tolerance
        out[field] = np.where(mine == reference, 0.0, np.where(np.isnan(error), np.inf, error))
    return out


def mismatches(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per field of ``ours``, where it is not within tolerance of gbstats (nan never is)."""
    return {field: ~(error <= 1.0) for field, error in errors(ours, theirs).items()}


def _tolerance(field: str, reference: np.ndarray, scale: np.ndarray, sd: np.ndarray) -> np.ndarray:
    if field in ("estimate", "low", "high"):
        return RTOL * scale
    relative = RTOL * np.abs(reference)
    if field in ("p_value", "chance_to_win"):
        return relative + P_ATOL
    if field.startswith("risk"):
        return relative + RISK_ATOL * sd
    return relative
