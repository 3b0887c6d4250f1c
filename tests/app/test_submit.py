"""Submit-time validation of stages, options and metadata (before any byte is stored)."""

from __future__ import annotations

import pytest

from app.api.submit import Submission, validate_request
from app.exceptions import InvalidInput
from app.settings import Settings
from app.stages import plan
from pipelines.exceptions import OptionsError


def sub(stages: object = None, options: object = None, metadata: object = None) -> Submission:
    return Submission(stages=["subtitles"] if stages is None else stages,  # type: ignore[arg-type]
                      options={} if options is None else options,
                      metadata={} if metadata is None else metadata, webhook_url=None, source="x")


def test_plan_orders_and_rejects_unknown() -> None:
    assert plan(["subtitles"]) == ["subtitles"]
    with pytest.raises(OptionsError, match="Valid stages"):
        plan(["nope"])
    with pytest.raises(OptionsError):
        plan([])


def test_valid_request() -> None:
    planned, options = validate_request(sub(options={"subtitles": {"language": "en", "beam_size": 3}}),
                                        Settings())
    assert planned == ["subtitles"] and options == {"subtitles": {"language": "en", "beam_size": 3}}


@pytest.mark.parametrize(("submission", "error", "match"), [
    (sub(stages=["ocr-nope"]), OptionsError, "Unknown stage"),
    (sub(options={"other": {}}), InvalidInput, "not requested"),
    (sub(options={"subtitles": {"colour": "red"}}), OptionsError, "Unknown subtitles option"),
    (sub(options={"subtitles": {"beam_size": 99}}), OptionsError, "beam_size"),
    (sub(options={"subtitles": {"profile": "nope"}}), OptionsError, "profile"),
    (sub(options={"subtitles": "fast"}), InvalidInput, "object of objects"),
    (sub(metadata=["x"]), InvalidInput, "metadata"),
    (sub(metadata={"x": "y" * 20000}), InvalidInput, "larger"),
    (sub(stages="subtitles"), InvalidInput, "list of stage names"),
])
def test_invalid_requests(submission: Submission, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        validate_request(submission, Settings())
