"""Stage ``ocr``: its options (the pipeline's OcrOptions, less the tuned fields)."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from app.stages import ocr
from pipelines.exceptions import OptionsError
from pipelines.ocr.engines import Reading


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
    ({"sample_rate": "fast"}, "ocr.sample_rate must be a number, got 'fast'"),
    # The option as it is spelt, and how to give it; a band given with captions off is not ignored.
    ({"caption_band": [0, 0.9, 1, 0.8]}, r"caption_band must be a normalised box .* e\.g\. \[0, 0\.8, 1, 1\]"),
    ({"caption_band": [0, 0.8, 1, 1], "hardsubs": "off"}, "caption_band is given but hardsubs is off"),
])
def test_bad_ocr_options(values: dict[str, object], match: str) -> None:
    with pytest.raises(OptionsError, match=match):
        ocr.STAGE.parse(values)


class _Engine:
    name = "fake"

    def __init__(self) -> None:
        self.reads = 0

    def read(self, image: np.ndarray) -> list[Reading]:
        self.reads += 1
        return [Reading((0, 0, image.shape[1], image.shape[0]), "text", 0.9)]

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return "line", 0.8


def test_the_stage_engine_reads_as_its_engine_and_trims_the_heap_after_a_read() -> None:
    inner = _Engine()
    trimmed = ocr._Trimmed(inner)
    trims: list[int] = []
    trimmed._trim = lambda: trims.append(1)
    image = np.zeros((20, 40, 3), np.uint8)
    assert trimmed.name == "fake"
    assert trimmed.read(image) == [Reading((0, 0, 40, 20), "text", 0.9)] and inner.reads == 1 and trims == [1]
    assert trimmed.read_line(image) == ("line", 0.8)


def test_malloc_trim_is_callable_here() -> None:
    assert ocr._Trimmed(_Engine())._trim() in (0, 1, None)  # glibc: 1 when it released memory, else 0; elsewhere a no-op


def test_events_read_back_from_ocr_json_as_written_and_older_files_without_flags() -> None:
    from pipelines.ocr.tracking import SCRIPT_UNCERTAIN, TextEvent

    events = [TextEvent(0.0, 2.5, (0.1, 0.1, 0.5, 0.16), "HaxMnTe KHonky", 0.72, 0, "LATIN", (SCRIPT_UNCERTAIN,)),
              TextEvent(1.0, 3.0, (0.1, 0.5, 0.4, 0.56), "Нажмите", 0.9, 1, "CYRILLIC")]
    written = json.loads(json.dumps({"events": [asdict(e) for e in events]}))  # as run() writes ocr.json
    assert ocr.events_from_json(written["events"]) == events
    older = {"start": 0, "end": 1, "box": [0, 0, 1, 0.1], "text": "Save", "confidence": 0.9, "scene": 0}
    assert ocr.events_from_json([older]) == [TextEvent(0.0, 1.0, (0.0, 0.0, 1.0, 0.1), "Save", 0.9, 0)]


def test_lines_read_as_nothing_are_counted_and_many_of_them_warned_of_with_the_fix() -> None:
    assert ocr.unread_summary(0, 500) == {}
    assert ocr.unread_summary(4, 545) == {"lines_unread": 4}  # the real JupyterLab recording: no warning
    warned = ocr.unread_summary(8, 8)  # Korean captions, no language said
    assert warned["lines_unread"] == 8 and "languages" in warned["unread_warning"]
    assert "ko" in warned["unread_warning"]
