"""The translation round trip of one job's results folder, for the CLI and the API alike.

Export: the folder's cues (``subtitles.json``), burned-in captions and on-screen texts (``ocr.json``,
when the ocr stage ran), whichever it has (a silent screencast has its on-screen text alone), as
XLIFF. Import: a translated XLIFF/SRT/WebVTT file checked against the same units, fitted to the
slots in the target language, and written as

- ``subtitles.<lang>.srt`` and ``subtitles.<lang>.vtt``: the fitted target subtitles (when it has cues),
- ``hardsubs.<lang>.srt`` and ``hardsubs.<lang>.vtt``: the burned-in captions' targets, fitted alike,
- ``translation.<lang>.json``: a report per cue (fits, how it was shortened, similarity),
- ``screen_text.<lang>.json``: the on-screen texts with their targets and whether they fit,
- ``preview.<lang>.mp4`` (when asked): target subtitles burned in, source ones as a soft track,

and listed in ``translations.json`` only once every file of the language is in place: a
refused file writes nothing, and a reader never sees half of an import.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.exceptions import Conflict, InvalidInput
from app.stages.context import write_atomic, write_json
from app.stages.ocr import HARDSUBS_SRT, OCR_JSON, caption_bands, events_from_json
from app.stages.subtitles import SUBTITLES_JSON, SUBTITLES_SRT
from pipelines.exceptions import PipelineError
from pipelines.ocr.scene_text import without_captions
from pipelines.subtitle_formats import to_srt, to_vtt
from pipelines.subtitles import StyleProfile
from pipelines.translation.languages import written_language
from pipelines.translation.units import (
    OVERLAY,
    ScreenText,
    SourceCue,
    TranslationDocument,
    build_document,
    screen_texts,
)
from pipelines.translation.xliff import VERSIONS, XliffVersion, write_xliff

if TYPE_CHECKING:
    from app.model_cache import ModelCache
    from pipelines.fit.sentence import SentenceFitter
    from pipelines.ocr.tracking import TextEvent
    from pipelines.translation.merge import MergeResult
    from pipelines.translation.targets import Targets

INDEX = "translations.json"
XLIFF_NAME = "translation.xlf"
NO_LM_FITTER = "fitter:no-lm"  # ModelCache key of the fitter for languages the LM does not serve
OCR_HARDSUBS = "hardsubs"  # ocr.json's section of burned-in captions, as app.stages.ocr writes it
DEFAULT_LANGUAGE = "en"  # of a job whose results name none (no audio, no speech)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
Mode = Literal["reading", "speaking"]

# One import (or preview) per results folder at a time: two imports of one language would
# otherwise interleave their files; the index is read, changed and written under it too.
_folder_locks: dict[str, threading.Lock] = {}
_folder_locks_guard = threading.Lock()


def _lock(folder: Path) -> threading.Lock:
    with _folder_locks_guard:
        return _folder_locks.setdefault(str(folder.resolve()), threading.Lock())


def check_language(language: str) -> str:
    """A target language code usable in file names (``de``, ``pt-BR``), or InvalidInput."""
    if not _LANGUAGE.match(language or ""):
        raise InvalidInput(f"target language {language!r} is not a language code such as 'de', 'fr' or "
                           "'pt-BR'.", code="invalid_language")
    return language


def files_for(language: str) -> dict[str, str]:
    """The result file names of one target language, by kind."""
    return {"srt": f"subtitles.{language}.srt", "vtt": f"subtitles.{language}.vtt",
            "captions_srt": f"hardsubs.{language}.srt", "captions_vtt": f"hardsubs.{language}.vtt",
            "report": f"translation.{language}.json", "screen": f"screen_text.{language}.json",
            "preview": f"preview.{language}.mp4"}


def local_job_id(out_dir: Path) -> str:
    """The id a results folder made by ``lessonlens process`` goes by: its subtitles' fingerprint
    (its on-screen text's where the subtitles have no cues: a silent screencast), so a translation
    of other (or older) results is recognised as such."""
    subtitles = out_dir / SUBTITLES_JSON
    path = subtitles if (_read_json(subtitles) or {}).get("cues") else out_dir / OCR_JSON
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "none"
    return f"local-{digest}"


def _read_json(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class _Sources:
    """What a results folder has to translate: ``language`` is the speech's, or without speech the
    language the captions (else the on-screen texts) are written in; ``caption_language`` the
    captions' (a caption in another language than ``language`` says so)."""

    language: str
    cues: list[SourceCue]
    captions: list[SourceCue]
    screen: list[ScreenText]
    caption_language: str


def _sources(out_dir: Path) -> _Sources:
    subs = _read_json(out_dir / SUBTITLES_JSON) or {}
    cues = [SourceCue(int(c["index"]), float(c["start"]), float(c["end"]), tuple(c["lines"]), str(c.get("language") or ""))
            for c in subs.get("cues") or []]
    ocr = _read_json(out_dir / OCR_JSON) or {}
    found = (ocr.get(OCR_HARDSUBS) or {}).get("cues") or []
    heard = str(subs.get("language") or DEFAULT_LANGUAGE)  # the job's, where no speech was heard
    caption_language = written_language([" ".join(c["lines"]) for c in found], heard)
    read = [SourceCue(n, float(c["start"]), float(c["end"]), tuple(c["lines"]), "", tuple(c.get("flags") or ()))
            for n, c in enumerate(found, start=1)]
    # The band's lines that are captions given below are not screen text too; watermarks are
    # exported marked (not translated unless the translator wants to).
    events = without_captions(events_from_json(ocr.get("events") or []), read, caption_bands(ocr))
    screen = screen_texts(mark_overlays(events, float(ocr.get("duration") or 0.0)))
    language = heard if cues else caption_language if found else written_language([t.text for t in screen], heard)
    captions = [replace(c, language="" if caption_language == language else caption_language) for c in read]
    return _Sources(language, cues, captions, screen, caption_language)


def mark_overlays(events: list[TextEvent], duration: float) -> list[TextEvent]:
    """``events`` with the readings of a watermark, logo or credit flagged ``overlay``: the same
    text at the same place by the frame's edge through nearly the whole video, as the classifier
    tells them (``pipelines.classify.screen_text``)."""
    from pipelines.classify.screen_text import split_screen_text

    overlays = {id(e) for e in split_screen_text(events, duration=duration, samples=0).overlays}
    return [replace(e, flags=(*e.flags, OVERLAY)) if id(e) in overlays else e for e in events]


def file_language(data: bytes) -> str | None:
    """The target language a translated file says it is in (None: it says none, or it cannot be
    read: the import reports why)."""
    from pipelines.translation.targets import read_translation

    try:
        return read_translation(data).target_language
    except PipelineError:
        return None


def load_document(out_dir: Path, job_id: str, profile: StyleProfile, target: str | None) -> TranslationDocument:
    """The translation units of a results folder: its cues (``subtitles.json``), its burned-in
    captions and its on-screen texts (``ocr.json``), whichever it has.

    Raises:
        Conflict: the folder has none (no speech was transcribed and no text read on screen).
    """
    found = _sources(out_dir)
    if not found.cues and not found.captions and not found.screen:
        raise Conflict("this job has nothing to translate: no subtitles (no speech was transcribed) and no "
                       "on-screen text (none was read); run it with the subtitles stage on media with speech, "
                       "or the ocr stage on a video with text.", code="nothing_to_translate")
    return build_document(job_id, found.language, found.cues, profile, profile.name, found.screen, target,
                          captions=found.captions)


def export_xliff(out_dir: Path, job_id: str, profile: StyleProfile, target: str | None,
                 version: str = "2.1") -> bytes:
    """The XLIFF file to hand to translators (``version`` 2.1 or 1.2)."""
    if version not in VERSIONS:
        raise InvalidInput(f"XLIFF version {version!r} is not offered; choose {' or '.join(VERSIONS)}.",
                           code="invalid_version")
    if target is not None:
        check_language(target)
    doc = load_document(out_dir, job_id, profile, target)
    if target is not None and target.split("-")[0].lower() == doc.source_language.split("-")[0].lower():
        raise InvalidInput(f"the target language {target!r} is this job's source language; choose another.",
                           code="invalid_language")
    version_: XliffVersion = "2.1" if version == "2.1" else "1.2"
    return write_xliff(doc, version_)


def fitter_for(models: ModelCache, language: str) -> SentenceFitter:
    """The sentence fitter for a target language: with the LM only where it serves the language
    (SmolLM2 is English-centric, ``FitOptions.lm_languages``), so importing a German translation
    never waits for the LM to load."""
    from pipelines.fit.estimates import normalize_language
    from pipelines.fit.sentence import FitOptions, SentenceFitter

    if normalize_language(language) in FitOptions.lm_languages:
        return models.fitter()
    return models.get(NO_LM_FITTER, lambda: SentenceFitter(models.embedder()))


@dataclass(frozen=True)
class ImportOutcome:
    """What an import wrote: the language, counts of cues ok/shortened/over, file names, timings."""

    language: str
    mode: str
    format: str
    counts: dict[str, int]
    files: list[str]
    seconds: float
    imported_at: str
    warnings: list[str] = field(default_factory=list)

    @property
    def previewable(self) -> bool:
        """Whether the import wrote subtitles or captions to burn into a preview (not on-screen texts alone)."""
        names = files_for(self.language)
        return names["srt"] in self.files or names["captions_srt"] in self.files


def _report_doc(result: MergeResult, targets: Targets) -> dict[str, Any]:
    return {"language": result.language, "mode": result.mode, "format": targets.format, "counts": result.counts,
            "seconds": round(result.elapsed_s, 3), "cues": [asdict(r) for r in result.report],
            **({"captions": [asdict(r) for r in result.caption_report]} if result.caption_report else {}),
            "retimed": [asdict(r) for r in targets.retimed]}


def _screen_doc(result: MergeResult) -> dict[str, Any]:
    return {"language": result.language, "texts": [asdict(s) for s in result.screen]}


def read_index(out_dir: Path) -> dict[str, Any]:
    """``translations.json``: the imported languages and their files (empty when none)."""
    index = _read_json(out_dir / INDEX)
    return index if isinstance(index, dict) and isinstance(index.get("languages"), dict) else {"languages": {}}


def listed_files(out_dir: Path) -> set[str]:
    """Every file the translations of this folder made (for serving them)."""
    return {f for entry in read_index(out_dir)["languages"].values() for f in entry.get("files", [])}


def _update_index(out_dir: Path, language: str, entry: dict[str, Any]) -> None:
    index = read_index(out_dir)
    index["languages"][language] = entry
    write_json(out_dir / INDEX, index)


def import_translation(
    out_dir: Path,
    doc: TranslationDocument,
    profile: StyleProfile,
    data: bytes,
    language: str | None,
    fitter: Callable[[str], SentenceFitter],
    mode: Mode = "reading",
    syllables_per_second: float | None = None,
) -> ImportOutcome:
    """Check, fit and write a translated file; nothing is written when it is refused.

    ``fitter`` gives the sentence fitter for the target language; it is called only once the
    file has passed its checks, and only for cues, so a refused file, or one of on-screen texts
    alone, costs no model loading.

    Raises:
        TranslationFileError: the file's problems, each naming its unit (nothing written).
    """
    from pipelines.fit.subtitle_file import SubtitleFitOptions
    from pipelines.translation.merge import merge_translation
    from pipelines.translation.targets import check_translation, read_translation, retimed_warning

    if language is not None:
        check_language(language)
    started = time.monotonic()
    targets = check_translation(doc, read_translation(data), language)
    lang = check_language(targets.language)
    options = SubtitleFitOptions(mode=mode, language=lang, profile=profile,
                                 syllables_per_second=syllables_per_second)
    timed = bool(doc.cues) or any(u.id in targets.texts for u in doc.captions)
    result = merge_translation(doc, targets, options, fitter(lang) if timed else None)
    names = files_for(lang)
    outputs: dict[str, str] = {}
    if doc.cues:  # a silent screencast's translation is its on-screen texts only
        outputs |= {names["srt"]: to_srt(result.cues), names["vtt"]: to_vtt(result.cues)}
    if result.captions:  # burned-in captions, when the file translated them
        outputs |= {names["captions_srt"]: to_srt(result.captions), names["captions_vtt"]: to_vtt(result.captions)}
    outputs |= {names["report"]: json.dumps(_report_doc(result, targets), ensure_ascii=False, indent=2) + "\n",
                names["screen"]: json.dumps(_screen_doc(result), ensure_ascii=False, indent=2) + "\n"}
    retimed = retimed_warning(targets.retimed, names["report"])
    outcome = ImportOutcome(language=lang, mode=mode, format=targets.format, counts=result.counts,
                            files=list(outputs), seconds=round(time.monotonic() - started, 3),
                            imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
                            warnings=[retimed] if retimed else [])
    with _lock(out_dir):
        for name, text in outputs.items():
            write_atomic(out_dir / name, text)
        stale = out_dir / names["preview"]  # a preview of an earlier import no longer matches
        stale.unlink(missing_ok=True)
        _update_index(out_dir, lang, asdict(outcome))
    return outcome


def render_translation_preview(out_dir: Path, media: Path, language: str, has_audio: bool = True) -> Path:
    """Render ``preview.<lang>.mp4`` for an imported language and list it in the index.

    Raises:
        Conflict: the language was not imported, or has no subtitles (on-screen texts only).
        MediaError: FFmpeg failed.
    """
    from pipelines.translation.preview import render_preview

    names = files_for(check_language(language))
    entry = read_index(out_dir)["languages"].get(language)
    if entry is None:
        raise Conflict(f"no {language!r} translation was imported into this job; import one first.",
                       code="no_translation")
    found = _sources(out_dir)
    # The subtitles' translation, else the burned-in captions' (a silent video with captions).
    target, source, source_language = (out_dir / names["srt"], out_dir / SUBTITLES_SRT, found.language)
    if not target.is_file():
        target, source, source_language = (out_dir / names["captions_srt"], out_dir / HARDSUBS_SRT,
                                           found.caption_language)
    if not target.is_file():
        raise Conflict(f"the {language!r} translation has no subtitles to show in a preview: this job's text "
                       "to translate is on screen only.", code="no_preview")
    text = target.read_text(encoding="utf-8")
    out = out_dir / names["preview"]
    render_preview(media, text, source.read_text(encoding="utf-8"), out, language, source_language,
                   has_audio=has_audio)
    with _lock(out_dir):
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            out.unlink(missing_ok=True)  # imported again meanwhile: this preview shows the old text
            raise Conflict(f"the {language!r} translation was imported again while its preview was being "
                           "rendered; render it again.", code="translation_changed")
        entry = read_index(out_dir)["languages"].get(language) or entry
        entry["files"] = [*[f for f in entry["files"] if f != names["preview"]], names["preview"]]
        _update_index(out_dir, language, entry)
    return out
