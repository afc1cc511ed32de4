"""A power answer in words and rows, the same on the page and in the terminal."""

from __future__ import annotations

from dataclasses import dataclass

from liftlab import formatting
from liftlab.analysis.contract import Method
from liftlab.analysis.power import PowerAnswer
from liftlab.stats import Scale

DESIGN_NAMES = {Method.FIXED_HORIZON: "Fixed horizon", Method.SEQUENTIAL: "Sequential"}


@dataclass(frozen=True)
class DesignRow:
    """One design's needs, formatted; ``chosen`` marks the design the question is for."""

    name: str
    chosen: bool
    identities: str
    per_arm: str
    days: str
    mde_at_identities: str | None


def change(value: float | None, answer: PowerAnswer) -> str:
    """A detectable change on the answer's scale: ±5.0%, ±1.0 pp (a rate), ±0.25."""
    if value is None:
        return "none detectable"
    if answer.scale is Scale.RELATIVE:
        return "±" + formatting.percent(value)
    if answer.baseline.conversion:
        return f"±{formatting.number(value * 100)} pp"
    return "±" + formatting.number(value)


def design_rows(answer: PowerAnswer) -> list[DesignRow]:
    """Both designs, fixed horizon first; the MDE at n only when the question asked it."""
    rows = []
    for method, design in (
        (Method.FIXED_HORIZON, answer.fixed_horizon),
        (Method.SEQUENTIAL, answer.sequential),
    ):
        rows.append(
            DesignRow(
                name=DESIGN_NAMES[method],
                chosen=answer.design is method,
                identities=formatting.thousands(design.identities),
                per_arm=" / ".join(formatting.thousands(n) for n in design.identities_per_arm),
                days=formatting.thousands(design.days),
                mde_at_identities=change(design.mde_at_identities, answer)
                if answer.identities is not None
                else None,
            )
        )
    return rows


def question_words(answer: PowerAnswer) -> str:
    """The question answered, in one sentence."""
    baseline = answer.baseline
    if baseline.conversion:
        base = f"a rate of {formatting.percent(baseline.mean)}"
    else:
        spread = formatting.number(baseline.variance)
        base = f"a mean of {formatting.number(baseline.mean)} (variance {spread})"
    level = f"α = {answer.alpha:g}"
    if answer.alpha_per_comparison != answer.alpha:
        level += f" ({answer.alpha_per_comparison:.3g} per treatment, Bonferroni)"
    return (
        f"To detect a change of {change(answer.mde, answer)} from {base} with "
        f"{formatting.percent(answer.power)} power at {level}, "
        f"with {formatting.number(answer.daily_traffic)} identities a day:"
    )
