"""``POST /v1/fit``: rewrite a text shorter so it fits a reading or speaking slot.

Synchronous: one sentence or cue in, the chosen text and every candidate's scores out. The
sentence fitter (MiniLM, and SmolLM2 on llama.cpp) is loaded once per process, on the first
request, in a worker thread; fitting runs in a worker thread too, so the event loop keeps
answering. Wire it with ``app.include_router(fit.router)`` in ``create_app``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api import OwnerDep, Services, ServicesDep
from app.api.errors import ErrorBody

if TYPE_CHECKING:
    from pipelines.fit.sentence import FitResult, SentenceFitter

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["fit"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 422, 503)}


class FitRequest(BaseModel):
    """The text and its slot: ``max_seconds`` or ``max_chars``, exactly one."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2_000, description="One sentence or subtitle cue.")
    language: str = Field("en", max_length=16,
                          description="Language code, e.g. 'en', 'de', 'fr' (one Whisper knows; others are "
                                      "refused with 422 unsupported_language).")
    max_seconds: float | None = Field(None, gt=0, le=600, description="Slot length in seconds.")
    max_chars: int | None = Field(None, gt=0, le=2_000, description="Slot length in characters.")
    mode: Literal["reading", "speaking"] = Field(
        "reading", description="reading: subtitle reading speed; speaking: syllables a second.")
    profile: str = Field("netflix-en", max_length=64, description="Subtitle style profile (reading mode).")
    syllables_per_second: float | None = Field(None, gt=0, le=20, description="A calibrated speaker rate.")
    similarity_floor: float = Field(0.8, ge=0, le=1, description="Least meaning kept (MiniLM cosine).")
    lm: Literal["auto", "always", "never"] = "auto"
    check_lines: bool = Field(False, description="Reading mode: also require the profile's lines (a cue).")
    time_budget_s: float | None = Field(
        0.5, gt=0, le=30, description="Wall time for this text in s; when it ends the best candidate so far is "
        "returned, with a note. null: no limit.")

    @model_validator(mode="after")
    def _one_slot(self) -> FitRequest:
        if (self.max_seconds is None) == (self.max_chars is None):
            raise ValueError("give exactly one of max_seconds or max_chars")
        return self


class CandidateOut(BaseModel):
    text: str
    method: str
    estimate: float
    fits: bool
    overrun: float
    similarity: float
    change: float
    acceptable: bool
    note: str


class FitResponse(BaseModel):
    """See ``pipelines.fit.sentence.FitResult``; ``unit`` says whether estimates are s or chars."""

    original: str
    text: str
    fits: bool
    estimate: float
    limit: float
    unit: str
    overrun: float
    similarity: float
    method: str
    changed: bool
    original_estimate: float
    elapsed_s: float
    note: str = ""
    candidates: list[CandidateOut]


def _run(services: Services, req: FitRequest) -> FitResult:
    # imported on first use: keeps the server's start fast
    from pipelines.fit.languages import fit_language
    from pipelines.fit.sentence import FitOptions

    fit_language(req.language)  # "english", "zz": refused, not fitted by trims alone
    options = FitOptions(
        mode=req.mode, language=req.language, max_seconds=req.max_seconds, max_chars=req.max_chars,
        profile=req.profile, syllables_per_second=req.syllables_per_second,
        similarity_floor=req.similarity_floor, lm=req.lm, check_lines=req.check_lines,
        time_budget_s=req.time_budget_s,
    )
    # The fitter holds one LM context and one MiniLM encoder: one call at a time.
    with fitter_lock:
        fitter: SentenceFitter = services.models.fitter()
        return fitter.fit(req.text, options)


fitter_lock = threading.Lock()  # also taken by the translation import (app.api.translations)


@router.post("/fit", response_model=FitResponse, responses=_ERRORS,
             summary="Shorten a text to fit a reading or speaking slot, keeping its meaning")
async def fit(req: FitRequest, request: Request, services: ServicesDep, owner: OwnerDep) -> dict[str, Any]:
    """Rewrite ``text`` to fit ``max_seconds`` (or ``max_chars``) in reading or speaking mode.

    ``fits: false`` means no candidate both fits and keeps the meaning: ``text`` is then the
    closest acceptable one and ``overrun`` says by how much it is still too long.

    Errors: 422 ``validation_error`` (both or neither slot given, empty text), 422
    ``invalid_options`` (unknown profile), 422 ``unsupported_language`` (a language code the fit
    does not know, named with the supported ones; speaking mode without a rate for the
    language), 503 ``model_not_installed`` (the message says how to install).
    """
    result = await to_thread.run_sync(_run, services, req)
    log.info("fit for %s: fits=%s sim=%.3f method=%s %.3f s", owner, result.fits, result.similarity,
             result.method, result.elapsed_s)
    body = asdict(result)
    body["changed"] = result.changed
    return body
