"""Statistical validity of liftlab.stats by simulation, at the level of sufficient statistics.

tests/validity/test_validity.py runs a few hundred experiments through the whole engine; that
is too few to tell a 5 % error rate from a 6 % one. Here the methods alone see tens of thousands
of simulated experiments per check, in one vectorised call each, so a miscalibrated method is
caught, not merely a broken pipeline.

Arms are drawn exactly in distribution without per-identity arrays: for normal values the arm
mean is normal and (n − 1)s²/σ² is chi-square, which gives (n, Σx, Σx²); conversions are
binomial counts; daily looks are cumulative sums of independent daily arms. Only the skewed
revenue metric draws per-identity amounts, and only its buyers'.

Every check counts experiments with an event (a false positive, a missed true effect) and
accepts the count within exact binomial bounds that a correct method, at the nominal rate,
leaves with probability ≤ ``TAIL`` = 10⁻⁴ (split over both sides where the bound is
two-sided); with some fifty bounds in the file, a correct engine fails any of them under a
fresh seed with probability ≤ 0.5 %. The first test computes, with scipy.stats.binom, that an
engine at twice the nominal rate (10 % false positives, 90 % coverage) fails each check with
probability ≥ ``REQUIRED_POWER`` = 99 %: at these sizes it would pass with probability < 10⁻⁵⁰
(about 1,000 experiments would already give 99 %).

Known failure, kept as strict xfails: the relative scale's delta-method standard error grows
with the treatment mean, so in A/A a negative lift looks more significant than a positive one
of the same size and the one-directional decision "a decrease is better" fires above 5 %.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pytest
from scipy import special, stats

from liftlab.stats import (
    Bayesian,
    Effect,
    FixedHorizon,
    Prior,
    ProportionSummary,
    SampleSummary,
    Sequential,
    Summary,
    adjust,
    effect,
)

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

ALPHA = 0.05
TAIL = 0.0001
REQUIRED_POWER = 0.99
SEED = 20_260_601

EXPERIMENTS = 100_000
ARM_SIZES = (2_000, 10_000)
LIFT = 0.10
WIN = 0.95

LOOKED_EXPERIMENTS = 20_000
DAYS = 28
DAILY_IDENTITIES = 150
TUNING = 2 * DAYS * DAILY_IDENTITIES

FAMILIES = 20_000
FAMILY_SIZE = 10
REAL_LIFTS = (0.10, 0.15, 0.20)
NULLS = FAMILY_SIZE - len(REAL_LIFTS)
NULL_LIFTS = (0.0,) * FAMILY_SIZE
MIXED_LIFTS = (0.0,) * NULLS + REAL_LIFTS

SKEWED_EXPERIMENTS = 20_000
SKEWED_ARM_SIZE = 1_000

RELATIVE_SKEW = (
    "relative scale: the delta-method se uses (m_t/m_c)², so it is larger when the treatment "
    "mean happens to be high; in A/A 'decrease wins' fires at ~5.7 % (normal) and ~5.9 % "
    "(conversions), 'increase wins' at ~4.2 % and ~4.1 %"
)
SKEWED_RELATIVE = (
    "relative scale on skewed revenue (30 % buyers, lognormal σ = 1.5, 1,000 per arm): A/A "
    "two-sided false-positive rate ~7.3 %, 'decrease wins' ~9.4 %"
)
SKEWED_XFAIL = pytest.mark.xfail(strict=True, reason=SKEWED_RELATIVE)


@dataclass(frozen=True)
class RateCheck:
    """Accepts a count of events out of ``trials`` for a method with event rate ``rate``.

    One-sided checks bound the count above only (the method may be conservative); two-sided
    ones also below, which catches a method that is right on average by being too wide.
    """

    trials: int
    rate: float
    two_sided: bool = False

    @property
    def tail(self) -> float:
        return TAIL / 2 if self.two_sided else TAIL

    @property
    def high(self) -> int:
        """The largest accepted count: a correct method exceeds it with probability ≤ tail."""
        return int(stats.binom.isf(self.tail, self.trials, self.rate))

    @property
    def low(self) -> int:
        """The smallest accepted count: a correct method falls below it with probability < tail."""
        return int(stats.binom.ppf(self.tail, self.trials, self.rate)) if self.two_sided else 0

    def acceptance(self, rate: float) -> float:
        """P(low ≤ X ≤ high) for X ~ Binomial(trials, rate)."""
        binom = stats.binom(self.trials, rate)
        return float(binom.cdf(self.high) - binom.cdf(self.low - 1))

    @property
    def pass_probability(self) -> float:
        """How likely a correct method, at the nominal rate, passes."""
        return self.acceptance(self.rate)

    @property
    def power(self) -> float:
        """How likely an engine at twice the nominal rate fails."""
        return 1.0 - self.acceptance(2.0 * self.rate)

    def verify(self, events: np.ndarray, what: str) -> None:
        assert events.size == self.trials, (what, events.shape, self.trials)
        count = int(np.count_nonzero(events))
        assert self.low <= count <= self.high, (
            f"{what}: {count} of {self.trials} ({count / self.trials:.4f}); a correct method "
            f"at {self.rate:.4f} gives {self.low}..{self.high}"
        )


def verify_exceeds(events: np.ndarray, rate: float, what: str) -> None:
    """The count is beyond what any method with event rate ≤ ``rate`` shows but rarely."""
    count, bound = int(np.count_nonzero(events)), RateCheck(events.size, rate).high
    assert count > bound, f"{what}: {count} of {events.size}, expected clearly above {bound}"


FIXED = RateCheck(EXPERIMENTS, ALPHA, two_sided=True)
AT_MOST = RateCheck(EXPERIMENTS, ALPHA)
SEQUENTIAL = RateCheck(LOOKED_EXPERIMENTS, ALPHA)
FAMILY_WISE = RateCheck(FAMILIES, ALPHA)
HOLM_EXACT = RateCheck(FAMILIES, 1.0 - (1.0 - ALPHA / FAMILY_SIZE) ** FAMILY_SIZE, True)
BH_EXACT = RateCheck(FAMILIES, NULLS / FAMILY_SIZE * ALPHA, two_sided=True)
SKEWED = RateCheck(SKEWED_EXPERIMENTS, ALPHA)
PRIOR_THEORY_RATE = 0.006
CHECKS = {
    "fixed horizon and flat-prior rates (two-sided)": FIXED,
    "one-directional decisions, informative-prior misses": AT_MOST,
    "sequential any-look rates": SEQUENTIAL,
    "family-wise error and false discovery rate": FAMILY_WISE,
    "Holm family-wise error, exact under independence": HOLM_EXACT,
    "Benjamini–Hochberg false discovery rate, exact under independence": BH_EXACT,
    "skewed revenue": SKEWED,
    "informative prior at the truth (its band, at a typical rate)": RateCheck(
        EXPERIMENTS, PRIOR_THEORY_RATE, two_sided=True
    ),
}


def rng_for(*labels: str) -> np.random.Generator:
    """A generator of its own per check and case: crc32 is stable across runs, hash() is not."""
    return np.random.default_rng([SEED, *(zlib.crc32(label.encode()) for label in labels)])


class Metric(Protocol):
    """A kind of metric whose arms can be drawn as sufficient statistics.

    A treatment with lift L multiplies every identity's value (or conversion rate) by 1 + L,
    so the true relative effect is L whatever the metric.
    """

    @property
    def mean(self) -> float: ...

    def draw(
        self, rng: np.random.Generator, n: np.ndarray, lift: float | np.ndarray
    ) -> tuple[np.ndarray, ...]: ...

    def summary(self, *sums: np.ndarray) -> Summary: ...


@dataclass(frozen=True)
class NormalMetric:
    """Normal values, N(mean, sd²): a sample-mean metric drawn as (n, Σx, Σx²)."""

    mean: float = 10.0
    sd: float = 25.0

    def draw(
        self, rng: np.random.Generator, n: np.ndarray, lift: float | np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """The arm mean is N(μ, σ²/n) and (n − 1)s²/σ² is χ²(n − 1), independently.

        Σx = n·x̄ and Σx² = (n − 1)s² + n·x̄², so two draws stand for n values, exactly.
        """
        scale = 1.0 + np.asarray(lift)
        mean = rng.normal(self.mean * scale, self.sd * scale / np.sqrt(n))
        squares = (self.sd * scale) ** 2 * rng.chisquare(n - 1.0)
        return n, n * mean, squares + n * mean**2

    def summary(self, *sums: np.ndarray) -> Summary:
        return SampleSummary.of(*sums)


@dataclass(frozen=True)
class ConversionMetric:
    """A conversion rate, drawn as (n, binomial count of conversions)."""

    mean: float = 0.10

    def draw(
        self, rng: np.random.Generator, n: np.ndarray, lift: float | np.ndarray
    ) -> tuple[np.ndarray, ...]:
        rate = self.mean * (1.0 + np.asarray(lift))
        return n, rng.binomial(n.astype(np.int64), rate).astype(np.float64)

    def summary(self, *sums: np.ndarray) -> Summary:
        return ProportionSummary.of(*sums)


@dataclass(frozen=True)
class RevenueMetric:
    """Revenue per identity: most identities spend nothing, buyers spend lognormal amounts.

    Σx of lognormals has no closed form, so buyers' amounts are drawn one by one; the buyer
    count is binomial and non-buyers add nothing, which keeps this to ~30 % of the identities.
    """

    buy_rate: float = 0.3
    sigma: float = 1.5

    @property
    def mean(self) -> float:
        return self.buy_rate * float(np.exp(self.sigma**2 / 2))

    def draw(
        self, rng: np.random.Generator, n: np.ndarray, lift: float | np.ndarray
    ) -> tuple[np.ndarray, ...]:
        buyers = rng.binomial(n.astype(np.int64), self.buy_rate)
        amounts = rng.lognormal(0.0, self.sigma, int(buyers.sum())) * (1.0 + float(lift))
        owner = np.repeat(np.arange(n.size), buyers)
        sums = np.bincount(owner, weights=amounts, minlength=n.size)
        return n, sums, np.bincount(owner, weights=amounts**2, minlength=n.size)

    def summary(self, *sums: np.ndarray) -> Summary:
        return SampleSummary.of(*sums)


METRICS = {"normal-mean": NormalMetric(), "conversion": ConversionMetric()}
CASES = [(name, scale) for name in METRICS for scale in ("absolute", "relative")]


def truth(metric: Metric, scale: str, lift: float) -> float:
    """The true effect of ``lift`` on ``scale``: mean·lift in absolute terms, lift relatively."""
    return metric.mean * lift if scale == "absolute" else lift


def arm_sizes(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Arm sizes drawn independently per arm, so the arms differ and Welch's df matters."""
    return rng.integers(ARM_SIZES[0], ARM_SIZES[1] + 1, shape).astype(np.float64)


def single_look(
    metric: Metric, rng: np.random.Generator, lift: float | np.ndarray, shape: tuple[int, ...]
) -> tuple[Summary, Summary]:
    """Control and treatment arms of many experiments, each read once at its end."""
    control = metric.summary(*metric.draw(rng, arm_sizes(rng, shape), 0.0))
    treatment = metric.summary(*metric.draw(rng, arm_sizes(rng, shape), lift))
    return control, treatment


def daily_looks(metric: Metric, rng: np.random.Generator, lift: float) -> tuple[Summary, Summary]:
    """Arms of shape (experiments, DAYS): the cumulative sums after each day.

    New identities arrive every day (Poisson, at least 2 so the day's χ² has a degree of
    freedom); summing independent daily arms gives the cumulative arm exactly.
    """
    shape = (LOOKED_EXPERIMENTS, DAYS)

    def arm(arm_lift: float) -> Summary:
        n = np.maximum(rng.poisson(DAILY_IDENTITIES, shape), 2).astype(np.float64)
        return metric.summary(*(np.cumsum(s, axis=1) for s in metric.draw(rng, n, arm_lift)))

    return arm(0.0), arm(lift)


def significant(p_value: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """p < alpha; a nan p-value would silently count as "not significant", so it fails."""
    assert np.all(np.isfinite(p_value)), "the method returned non-finite p-values"
    return p_value < alpha


def misses(interval: tuple[np.ndarray, np.ndarray], true_effect: float) -> np.ndarray:
    """The interval leaves out the true effect; a nan bound counts as a miss."""
    low, high = interval
    return ~((low <= true_effect) & (true_effect <= high))


@pytest.mark.parametrize("name", CHECKS)
def test_every_check_passes_a_correct_engine_and_fails_one_at_twice_the_rate(name: str) -> None:
    """The design of the checks, in numbers: strong against a broken engine, kind to a good one.

    E.g. at most 5,258 of 100,000 A/A experiments may be flagged at α = 0.05: a correct method
    passes with probability 0.9999, an engine at 10 % would need a −50σ draw to pass. The
    sequential and multiplicity checks (20,000 experiments or families, ≤ 1,117) leave a broken
    engine ~10⁻¹¹² and the narrowest band (BH's exact rate, 601..803) ~10⁻⁷¹.
    """
    check = CHECKS[name]
    assert check.power >= REQUIRED_POWER, (name, check.power)
    assert check.pass_probability >= 1.0 - TAIL, (name, check.pass_probability)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale"), CASES)
def test_fixed_horizon_a_a_false_positive_rate_is_alpha(name: str, scale: str) -> None:
    """Welch's t on either scale flags about alpha of A/A experiments, neither more nor less."""
    rng = rng_for("fh-a-a", name, scale)
    control, treatment = single_look(METRICS[name], rng, 0.0, (EXPERIMENTS,))
    p_value = FixedHorizon(effect(control, treatment, scale)).p_value
    FIXED.verify(significant(p_value), f"A/A false positives, {name}, {scale}")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale"), CASES)
def test_fixed_horizon_interval_covers_a_known_effect(name: str, scale: str) -> None:
    """The (1 − α) interval misses a real lift of LIFT in about α of experiments."""
    metric = METRICS[name]
    control, treatment = single_look(metric, rng_for("fh-cover", name, scale), LIFT, (EXPERIMENTS,))
    interval = FixedHorizon(effect(control, treatment, scale)).interval(ALPHA)
    FIXED.verify(misses(interval, truth(metric, scale, LIFT)), f"misses, {name}, {scale}")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale"), CASES)
def test_sequential_stays_within_alpha_over_28_looks_where_fixed_horizon_does_not(
    name: str, scale: str
) -> None:
    """Peeking daily at a fixed-horizon test inflates its error; the confidence sequence's not.

    Both read the same A/A experiments after each of 28 days; an experiment counts once if any
    look is significant. Fixed horizon lands near 27 % (Armitage et al. 1969), far above alpha.
    """
    control, treatment = daily_looks(METRICS[name], rng_for("seq-a-a", name, scale), 0.0)
    measured = effect(control, treatment, scale)
    sequential = Sequential(measured, ALPHA, TUNING).p_value
    SEQUENTIAL.verify(significant(sequential).any(axis=1), f"sequential any look, {name}, {scale}")
    peeking = significant(FixedHorizon(measured).p_value).any(axis=1)
    verify_exceeds(peeking, ALPHA, f"fixed horizon any look, {name}, {scale}")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale"), CASES)
def test_sequential_interval_covers_at_every_look_at_once(name: str, scale: str) -> None:
    """A confidence sequence covers the true lift at all 28 looks together, at 1 − α or more."""
    metric = METRICS[name]
    control, treatment = daily_looks(metric, rng_for("seq-cover", name, scale), LIFT)
    interval = Sequential(effect(control, treatment, scale), ALPHA, TUNING).interval(ALPHA)
    missed = misses(interval, truth(metric, scale, LIFT)).any(axis=1)
    SEQUENTIAL.verify(missed, f"sequential misses at some look, {name}, {scale}")


def decision(name: str, scale: str, direction: float) -> ParameterSet:
    """One A/A decision case; "a decrease wins" on the relative scale is a known failure."""
    word = "increase" if direction > 0 else "decrease"
    known = (scale, direction) == ("relative", -1.0)
    marks = [pytest.mark.xfail(strict=True, reason=RELATIVE_SKEW)] if known else []
    return pytest.param(name, scale, direction, id=f"{name}-{scale}-{word}", marks=marks)


DECISIONS = [
    decision(name, scale, direction)
    for name in METRICS
    for scale in ("absolute", "relative")
    for direction in (1.0, -1.0)
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale", "direction"), DECISIONS)
def test_flat_prior_declares_a_winner_in_at_most_5_percent_of_a_a(
    name: str, scale: str, direction: float
) -> None:
    """Shipping on chance_to_win ≥ 95 % is a one-sided 5 % test; in A/A it must win ≤ 5 %.

    Each direction is its own decision (a metric where an increase is good, one where a
    decrease is), so each must hold on its own, not only on average over both.
    """
    control, treatment = single_look(
        METRICS[name], rng_for("bayes-a-a", name, scale), 0.0, (EXPERIMENTS,)
    )
    chance = Bayesian(effect(control, treatment, scale), Prior(), direction).chance_to_win
    AT_MOST.verify(chance >= WIN, f"A/A winners, {name}, {scale}, direction {direction:+}")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale"), CASES)
def test_flat_prior_credible_interval_covers_a_known_effect(name: str, scale: str) -> None:
    """With a flat prior the credible interval is a frequentist one and covers at 1 − α."""
    metric = METRICS[name]
    rng = rng_for("bayes-cover", name, scale)
    control, treatment = single_look(metric, rng, LIFT, (EXPERIMENTS,))
    interval = Bayesian(effect(control, treatment, scale), Prior()).interval(ALPHA)
    FIXED.verify(misses(interval, truth(metric, scale, LIFT)), f"misses, {name}, {scale}")


def informative_prior(measured: Effect, centre: float) -> Prior:
    """A prior at ``centre`` as wide as a typical standard error, so it moves the posterior.

    A Prior is one float for all comparisons; the median se is practically fixed by the design.
    """
    return Prior(centre, float(np.median(measured.se)))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale"), CASES)
def test_prior_centred_at_the_truth_covers_at_least_nominally(name: str, scale: str) -> None:
    """A correct prior can only help: the interval misses the truth in at most α of experiments.

    The prior is as wide as the data's se, so shrinking towards 0 instead of its mean would miss
    the truth often; only a prior ignored altogether would still pass (see the next test).
    """
    metric = METRICS[name]
    true_effect = truth(metric, scale, LIFT)
    control, treatment = single_look(metric, rng_for("prior", name, scale), LIFT, (EXPERIMENTS,))
    measured = effect(control, treatment, scale)
    interval = Bayesian(measured, informative_prior(measured, true_effect)).interval(ALPHA)
    AT_MOST.verify(misses(interval, true_effect), f"misses, {name}, {scale}")


@pytest.mark.slow
@pytest.mark.parametrize("name", METRICS)
def test_prior_centred_at_the_truth_misses_as_rarely_as_theory_says(name: str) -> None:
    """With the prior at the truth, the miss rate is 2Φ(−z/√w), w = τ²/(τ² + se²), per experiment.

    The error of the posterior mean is w·(estimate − truth) and the posterior sd √w·se, so the
    interval misses when |Z| > z/√w: ~0.6 % here, not the 5 % of a prior that is ignored. The
    count is Poisson-binomial, narrower than the binomial band at the mean rate used. Absolute
    scale only: the relative estimate's skew (see RELATIVE_SKEW) leaves it at ~0.75–0.85 %.
    """
    metric = METRICS[name]
    true_effect = truth(metric, "absolute", LIFT)
    control, treatment = single_look(metric, rng_for("prior-theory", name), LIFT, (EXPERIMENTS,))
    measured = effect(control, treatment, "absolute")
    prior = informative_prior(measured, true_effect)
    interval = Bayesian(measured, prior).interval(ALPHA)
    weight = prior.sd**2 / (prior.sd**2 + measured.variance)
    expected = float(np.mean(2.0 * special.ndtr(special.ndtri(ALPHA / 2) / np.sqrt(weight))))
    band = RateCheck(EXPERIMENTS, expected, two_sided=True)
    band.verify(misses(interval, true_effect), f"misses with an informative prior, {name}")


@functools.cache
def family_p_values(lifts: tuple[float, ...]) -> np.ndarray:
    """p-values of FAMILIES families of independent comparisons, one row per family."""
    rng = rng_for("family", *map(str, lifts))
    shape = (FAMILIES, len(lifts))
    control, treatment = single_look(NormalMetric(), rng, np.array(lifts), shape)
    p_values = FixedHorizon(effect(control, treatment, "absolute")).p_value
    p_values.flags.writeable = False
    return p_values


def corrected(p_values: np.ndarray, correction: str) -> np.ndarray:
    """Adjusted p-values per family: ``adjust`` takes one family (1-d) per call."""
    return np.stack([adjust(family, correction) for family in p_values])


@pytest.mark.slow
def test_holm_keeps_the_family_wise_error_within_alpha_where_uncorrected_does_not() -> None:
    """Ten null comparisons per family: Holm errs in ≤ α of families, uncorrected in ~40 %.

    Under independence Holm's rate is exactly 1 − (1 − α/10)¹⁰ ≈ 4.89 %, which also catches a
    Holm that is needlessly conservative.
    """
    p_values = family_p_values(NULL_LIFTS)
    any_error = significant(corrected(p_values, "holm")).any(axis=1)
    FAMILY_WISE.verify(any_error, "Holm family-wise errors")
    HOLM_EXACT.verify(any_error, "Holm family-wise errors against the exact rate")
    verify_exceeds(significant(p_values).any(axis=1), ALPHA, "uncorrected family-wise errors")


@pytest.mark.slow
def test_holm_keeps_the_family_wise_error_within_alpha_beside_real_effects() -> None:
    """Strong control: next to three real lifts, the seven nulls still err in ≤ α of families.

    Under the global null Benjamini–Hochberg keeps the family-wise error at α too; here it errs
    in ~10 % of families (it relaxes its thresholds after each real discovery), so this is the
    check that tells Holm (~4 %) from BH.
    """
    false_rejections = significant(corrected(family_p_values(MIXED_LIFTS), "holm"))[:, :NULLS]
    FAMILY_WISE.verify(false_rejections.any(axis=1), "Holm family-wise errors, mixed families")


def false_discovery_draws(discoveries: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Bernoulli(FDP) draw per family, FDP = false discoveries / max(discoveries, 1).

    The FDR is the mean FDP; drawing an event with probability FDP per family makes the count
    exactly Binomial(FAMILIES, FDR), so the same binomial bounds and power apply.
    """
    false = discoveries[:, :NULLS].sum(axis=1)
    proportion = false / np.maximum(discoveries.sum(axis=1), 1)
    return rng.random(proportion.size) < proportion


@pytest.mark.slow
def test_benjamini_hochberg_keeps_the_false_discovery_rate_within_alpha() -> None:
    """Seven nulls and three real lifts per family: BH's FDR is ≤ α, exactly 7/10·α here.

    Benjamini and Hochberg (1995) bound the FDR by (nulls/m)·α, with equality for independent
    continuous p-values (Benjamini and Yekutieli 2001), so the two-sided band also catches a BH
    that is Holm in disguise (an FDR of ~1.7 %). Uncorrected, the same families' FDR is ~11 %.
    """
    p_values = family_p_values(MIXED_LIFTS)
    rng = rng_for("fdr-draws")
    draws = false_discovery_draws(significant(corrected(p_values, "benjamini_hochberg")), rng)
    FAMILY_WISE.verify(draws, "Benjamini–Hochberg false discoveries")
    BH_EXACT.verify(draws, "Benjamini–Hochberg false discoveries against the exact rate")
    uncorrected = false_discovery_draws(significant(p_values), rng)
    verify_exceeds(uncorrected, ALPHA, "uncorrected false discoveries")


@functools.cache
def skewed_a_a() -> tuple[Summary, Summary]:
    """A/A experiments on skewed revenue, drawn once and shared by the skewed checks."""
    rng = rng_for("skewed")
    n = np.full(SKEWED_EXPERIMENTS, float(SKEWED_ARM_SIZE))
    metric = RevenueMetric()
    return metric.summary(*metric.draw(rng, n, 0.0)), metric.summary(*metric.draw(rng, n, 0.0))


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["absolute", pytest.param("relative", marks=SKEWED_XFAIL)])
def test_skewed_revenue_a_a_false_positives_stay_within_alpha(scale: str) -> None:
    """Revenue is skewed (most spend nothing, a few a lot); the tests lean on the CLT there.

    At most α here, not a band: Welch's t is conservative for heavy tails (~4.3 % absolute).
    """
    control, treatment = skewed_a_a()
    p_value = FixedHorizon(effect(control, treatment, scale)).p_value
    SKEWED.verify(significant(p_value), f"skewed A/A false positives, {scale}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scale", "direction"),
    [
        pytest.param("absolute", 1.0, id="absolute-increase"),
        pytest.param("absolute", -1.0, id="absolute-decrease"),
        pytest.param("relative", 1.0, id="relative-increase"),
        pytest.param(
            "relative",
            -1.0,
            id="relative-decrease",
            marks=SKEWED_XFAIL,
        ),
    ],
)
def test_skewed_revenue_flat_prior_winners_stay_within_5_percent(
    scale: str, direction: float
) -> None:
    """The one-directional decision of the flat prior on skewed revenue, per direction."""
    control, treatment = skewed_a_a()
    chance = Bayesian(effect(control, treatment, scale), Prior(), direction).chance_to_win
    SKEWED.verify(chance >= WIN, f"skewed A/A winners, {scale}, direction {direction:+}")
