"""The reading-speed rule the segmenter and the fit estimates share."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipelines.fit.estimates import reading_estimate
from pipelines.reading import reading_chars, reading_seconds
from pipelines.subtitles import PROFILES


def test_the_slower_limit_wins() -> None:
    both = PROFILES["netflix-en"].with_overrides({"max_cps": 20.0, "max_wpm": 120.0})
    assert reading_seconds(40, 10, both) == pytest.approx(5.0)  # words: 10 / 120 a minute
    assert reading_seconds(200, 10, both) == pytest.approx(10.0)  # characters: 200 / 20 a second


@dataclass(frozen=True)
class Unlimited:
    max_cps: float | None = None
    max_wpm: float | None = None
    max_line_chars: int = 42
    max_lines: int = 2


def test_no_limit_has_no_reading_time() -> None:
    assert reading_seconds(40, 10, Unlimited()) is None


def test_the_fit_measures_with_the_same_rule() -> None:
    text = "Save your work\nbefore closing."
    for name in ("netflix-en", "bbc"):
        profile = PROFILES[name]
        seconds = reading_seconds(reading_chars(text), len(text.split()), profile)
        assert reading_estimate(text, profile).seconds == seconds
