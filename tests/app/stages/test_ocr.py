"""Stage ``ocr``: its options (the pipeline's OcrOptions, less the tuned fields)."""

from __future__ import annotations

import pytest

from app.stages import ocr
from pipelines.exceptions import OptionsError


def test_ocr_options_coerce_and_keep_tuned_fields_fixed() -> None:
    opts = ocr.STAGE.parse({"roi": ["0", 0.5, 1, 1], "languages": "en", "sample_rate": "1", "min_text_height": 10.0})
    assert opts.roi == (0.0, 0.5, 1.0, 1.0) and opts.languages == ("en",)
    assert opts.sample_rate == 1.0 and opts.min_text_height == 10
    normalised = ocr.STAGE.normalise({})
    assert "change" not in normalised and "tracking" not in normalised
    with pytest.raises(OptionsError, match="Unknown ocr option"):
        ocr.STAGE.parse({"tracking": {}})


@pytest.mark.parametrize(("values", "match"), [
    ({"roi": [0, 0, 1]}, "roi needs 4 values"),
    ({"roi": [0.5, 0, 0.2, 1]}, "roi must be a normalised box"),
    ({"engine": "tesseract"}, "Unknown OCR engine"),
    ({"sample_rate": "fast"}, "Bad ocr option"),
])
def test_bad_ocr_options(values: dict[str, object], match: str) -> None:
    with pytest.raises(OptionsError, match=match):
        ocr.STAGE.parse(values)
