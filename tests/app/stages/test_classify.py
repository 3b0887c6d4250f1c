"""Stage ``classify``: its options (the pipeline's ClassifyOptions) and its place in the graph."""

from __future__ import annotations

import pytest

from app.stages import classify, ocr, subtitles
from pipelines.exceptions import OptionsError


def test_classify_options_and_dependencies() -> None:
    assert classify.STAGE.parse({"threshold": "0.6", "multilingual": False}).threshold == 0.6
    assert classify.STAGE.needs == (subtitles.NAME,) and classify.STAGE.uses == (ocr.NAME,)
    with pytest.raises(OptionsError, match="Unknown classify option"):
        classify.STAGE.parse({"model": "x"})
    with pytest.raises(OptionsError, match="multilingual must be true or false"):
        classify.STAGE.parse({"multilingual": "no"})
