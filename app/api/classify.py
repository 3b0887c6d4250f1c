"""``POST /v1/classify``: the learning-content verdict for a transcript and/or on-screen text.

Synchronous: text in, verdict out, in well under a second once the classifier is loaded. The
classifier (MiniLM, the multilingual e5 and the shipped head) is loaded once per process, on
the first request, in a worker thread; classification runs in a worker thread too, so the event
loop keeps answering. Wire it with ``app.include_router(classify.router)`` in ``create_app``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api import OwnerDep, Services, ServicesDep
from app.api.errors import ErrorBody

if TYPE_CHECKING:
    from pipelines.classify.classifier import Classifier, ClassifyOptions, ClassifyResult
    from pipelines.classify.visual_cues import VisualCues

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["classify"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 422, 503)}


class ScreenTextItem(BaseModel):
    """One on-screen text event (as the ocr stage writes them); times are optional."""

    model_config = ConfigDict(extra="ignore")
    text: str = Field(max_length=5_000)
    start: float | None = None
    end: float | None = None


class VisualCuesIn(BaseModel):
    """Frame statistics, each a share in [0, 1]; leave out what was not measured."""

    model_config = ConfigDict(extra="forbid")
    text_frame_share: float | None = Field(None, ge=0, le=1, description="Share of frames with text.")
    static_share: float | None = Field(None, ge=0, le=1, description="Share of frame changes that are static.")
    slide_like_share: float | None = Field(None, ge=0, le=1, description="Share of slide-like frames.")
    frames: int = Field(0, ge=0)


class ClassifyOptionsIn(BaseModel):
    """Options of ``pipelines.classify.classifier.ClassifyOptions``; defaults apply to what is left out."""

    model_config = ConfigDict(extra="forbid")
    chunk_words: int | None = Field(None, ge=5, le=200)
    screen_text_share: float | None = Field(None, ge=0, le=1)
    evidence_per_side: int | None = Field(None, ge=0, le=20)
    threshold: float | None = Field(None, gt=0, lt=1)
    visual_weight: float | None = Field(None, ge=0, le=5)
    multilingual: bool | None = None
    english_embedder: Literal["minilm-l6-v2", "e5-small"] | None = None


class ClassifyRequest(BaseModel):
    """Any subset of transcript, on-screen text and visual cues; at least one must hold something."""

    model_config = ConfigDict(extra="forbid")
    transcript: str | None = Field(None, max_length=500_000, description="The spoken text.")
    screen_text: list[str | ScreenTextItem] | None = Field(
        None, max_length=20_000, description="On-screen text lines or OCR events.")
    visual: VisualCuesIn | None = None
    language: str | None = Field(None, max_length=16, description="Language code when known, e.g. 'en'.")
    options: ClassifyOptionsIn | None = None


class EvidenceOut(BaseModel):
    source: str
    text: str
    weight: float = Field(description="Log-odds toward 'learning' (negative: toward 'not_learning').")
    start: float | None = None
    end: float | None = None


class ClassifyResponse(BaseModel):
    """The verdict; see ``pipelines.classify.classifier.ClassifyResult`` for each field."""

    label: str
    probability: float
    confidence: float
    kind: str
    kind_probabilities: dict[str, float]
    evidence_for: list[EvidenceOut]
    evidence_against: list[EvidenceOut]
    base_logit: float
    language: str
    embedder: str | None
    method: str
    signals: list[str]
    weak: bool
    notes: list[str]
    chunks: int
    words: int
    seconds: float


def _options(body: ClassifyOptionsIn | None) -> ClassifyOptions:
    # imported on first use: keeps the server's start fast
    from pipelines.classify.classifier import ClassifyOptions

    if body is None:
        return ClassifyOptions()
    return ClassifyOptions(**body.model_dump(exclude_none=True))


def _visual(body: VisualCuesIn | None) -> VisualCues | None:
    from pipelines.classify.visual_cues import VisualCues

    return None if body is None else VisualCues(**body.model_dump())


def _run(services: Services, req: ClassifyRequest) -> ClassifyResult:
    classifier: Classifier = services.models.classifier()
    screen = None if req.screen_text is None else [
        s if isinstance(s, str) else s.model_dump() for s in req.screen_text]
    return classifier.classify(transcript=req.transcript, screen_text=screen, visual=_visual(req.visual),
                               language=req.language, options=_options(req.options))


@router.post("/classify", response_model=ClassifyResponse, responses=_ERRORS,
             summary="Is this learning content, of which kind, and why (synchronous)")
async def classify(req: ClassifyRequest, request: Request, services: ServicesDep,
                   owner: OwnerDep) -> dict[str, Any]:
    """Classify a transcript and/or on-screen text (and optional frame statistics).

    Errors: 422 ``empty_input`` when nothing was given, 422 ``invalid_options`` for bad
    options, 503 ``model_not_installed`` when MiniLM is missing (the message says how to install).
    """
    result = await to_thread.run_sync(_run, services, req)
    log.info("classify for %s: %s p=%.3f kind=%s %d words in %.3f s", owner, result.label,
             result.probability, result.kind, result.words, result.seconds)
    return asdict(result)
