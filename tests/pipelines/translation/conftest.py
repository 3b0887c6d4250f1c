"""A small job to translate: four cues and two slides' on-screen text."""

from __future__ import annotations

import pytest

from pipelines.ocr.tracking import TextEvent
from pipelines.subtitles import PROFILES
from pipelines.translation.units import SourceCue, TranslationDocument, build_document, screen_texts

CUES = [
    SourceCue(1, 0.5, 3.0, ("Welcome to your first week.",)),
    SourceCue(2, 3.2, 6.2, ("Open the settings page", "and choose security.")),
    SourceCue(3, 7.0, 8.0, ("Click save.",)),
    SourceCue(4, 8.1, 9.1, ("Then restart the application",)),
]
EVENTS = [
    TextEvent(0.0, 6.5, (0.06, 0.05, 0.67, 0.16), "Reset Your Password", 0.98, 0),
    TextEvent(0.0, 6.5, (0.10, 0.32, 0.35, 0.38), "Open Settings", 0.97, 0),
    TextEvent(6.5, 9.5, (0.10, 0.32, 0.30, 0.38), "Save", 0.95, 1),
    TextEvent(7.0, 9.5, (0.10, 0.32, 0.30, 0.38), "Save", 0.93, 1),  # read again: one unit
]


def make_doc(target: str | None = "de", job_id: str = "job42") -> TranslationDocument:
    return build_document(job_id, "en", CUES, PROFILES["netflix-en"], "netflix-en", screen_texts(EVENTS),
                          target)


@pytest.fixture()
def doc() -> TranslationDocument:
    return make_doc()
