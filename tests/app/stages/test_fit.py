"""Stage ``fit``: its options, checked by the pipeline's own rules at parse time."""

from __future__ import annotations

import pytest

from app.stages import fit
from pipelines.exceptions import OptionsError


def test_fit_options_build_the_pipeline_options() -> None:
    opts = fit.STAGE.parse({"mode": "speaking", "syllables_per_second": "5"})
    assert opts.language is None  # filled from the detected language when the stage runs
    built = opts.fit_options("de")
    assert (built.mode, built.language, built.syllables_per_second) == ("speaking", "de", 5.0)
    assert fit.STAGE.parse({"language": "fr"}).fit_options("de").language == "fr"
    assert fit.STAGE.parse({}).fit_options(None).language == "en"


@pytest.mark.parametrize(("values", "match"), [
    ({"max_chars": 3}, "Unknown fit option"),
    ({"mode": "singing"}, "mode must be 'reading' or 'speaking'"),
    ({"lm": "sometimes"}, "lm must be"),
    ({"similarity_floor": 2}, "similarity_floor"),
    ({"subtitles": ["1"]}, "subtitles must be text"),
])
def test_bad_fit_options(values: dict[str, object], match: str) -> None:
    with pytest.raises(OptionsError, match=match):
        fit.STAGE.parse(values)
