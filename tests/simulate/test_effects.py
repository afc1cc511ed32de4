"""Effects as written on the command line, and how they land on the metrics."""

from __future__ import annotations

import pytest

from liftlab.simulate import Effect, MetricSpec, PlanError, apply_effects, parse_effect


@pytest.mark.parametrize(
    ("text", "metric", "lift"),
    [
        ("revenue=+3%", "revenue", 0.03),
        ("7=-1.5%", "7", -0.015),
        ("conversion:treatment=2%", "conversion:treatment", 0.02),
        (" a = b =+.5% ", "a = b", 0.005),
        ("x=0%", "x", 0.0),
    ],
)
def test_parse_effect(text: str, metric: str, lift: float) -> None:
    effect = parse_effect(text)
    assert effect.metric == metric
    assert effect.lift == pytest.approx(lift)
    assert effect.variant is None


@pytest.mark.parametrize("text", ["revenue=3", "revenue", "=3%", "revenue=+x%", "r=3%%", "r=1e2%"])
def test_parse_effect_refuses_unclear_text(text: str) -> None:
    with pytest.raises(PlanError, match="METRIC=\\+3%"):
        parse_effect(text)


METRICS = (
    MetricSpec("1", "conversion", "occurrence", "purchase"),
    MetricSpec("2", "a:b", "count", "purchase"),
    MetricSpec("3", "1", "count", "visit"),
)
TREATMENTS = ("blue", "green")


def effects_of(*effects: Effect) -> dict[str, dict[str, float]]:
    return {m.key: dict(m.effects) for m in apply_effects(METRICS, effects, TREATMENTS)}


def test_an_effect_applies_to_every_treatment_unless_a_variant_is_named() -> None:
    got = effects_of(parse_effect("conversion=+5%"), parse_effect("conversion:green=+1%"))
    assert got == {"1": {"blue": 0.05, "green": 0.01}, "2": {}, "3": {}}


def test_a_metric_is_found_by_id_before_name_and_names_may_hold_colons() -> None:
    got = effects_of(parse_effect("1=+2%"), parse_effect("a:b=-1%"), Effect("3", 0.4, "blue"))
    assert got == {
        "1": {"blue": 0.02, "green": 0.02},
        "2": {"blue": -0.01, "green": -0.01},
        "3": {"blue": 0.4},
    }


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        (parse_effect("nope=+1%"), "no such metric"),
        (parse_effect("conversion:purple=+1%"), "not a treatment"),
        (Effect("conversion", 0.1, "control"), "not a treatment"),
        (Effect("missing", 0.1, "blue"), "no such metric"),
    ],
)
def test_unknown_metrics_and_variants_are_refused(effect: Effect, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        apply_effects(METRICS, [effect], TREATMENTS)
