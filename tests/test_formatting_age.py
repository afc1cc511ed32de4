"""How old results are, in words, as the terminal and the pages say it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liftlab import formatting as f

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "words"),
    [
        (timedelta(seconds=0), "updated just now"),
        (timedelta(seconds=59), "updated just now"),
        (timedelta(seconds=-30), "updated just now"),  # another process's clock, a little ahead
        (timedelta(minutes=3), "updated 3 min ago"),
        (timedelta(minutes=59, seconds=59), "updated 59 min ago"),
        (timedelta(hours=2, minutes=59), "updated 2 h ago"),
        (timedelta(hours=23, minutes=59), "updated 23 h ago"),
        (timedelta(days=1, hours=5), "updated 1 day ago"),
        (timedelta(days=3), "updated 3 days ago"),
    ],
)
def test_results_age_in_whole_units_rounded_down(age, words):
    assert f.results_age(NOW - age, NOW) == words


def test_frozen_results_say_final():
    assert f.results_age(NOW - timedelta(days=3), NOW, final=True) == "final, computed 3 days ago"
    assert f.results_age(NOW, NOW, final=True) == "final, computed just now"
