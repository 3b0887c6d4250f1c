"""``lessonlens export`` and ``lessonlens import``: the translation round trip on a results folder.

The folder is what ``lessonlens process`` wrote (``subtitles.json``, ``ocr.json`` when the ocr
stage ran: either may be all there is to translate). Registered on the main CLI in ``app.cli``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.exceptions import AppError
from app.settings import Settings
from app.stages.ocr import OCR_JSON
from app.stages.subtitles import AUTO_PROFILE, SUBTITLES_JSON
from pipelines.exceptions import PipelineError, TranslationFileError
from pipelines.subtitles import LANGUAGE_PROFILES, PROFILES, StyleProfile, profile_for


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _folder_profile(folder: Path, profile: str | None, target: str | None) -> StyleProfile:
    """The profile given, else the folder's; a Netflix one (as ``auto`` chooses them) becomes
    Netflix's for the ``target`` language (a Chinese job's English: 42 characters a line, not 16).
    A folder whose subtitles name none (no audio, or no subtitles stage) is taken as ``auto``."""
    if profile is None:
        if not any((folder / name).is_file() for name in (SUBTITLES_JSON, OCR_JSON)):
            raise _fail(f"{folder} has no {SUBTITLES_JSON} or {OCR_JSON}: run `lessonlens process MEDIA -o {folder}` "
                        "first")
        try:
            saved = json.loads((folder / SUBTITLES_JSON).read_text(encoding="utf-8"))
            named, auto = saved.get("profile"), saved.get("profile_auto")
        except (OSError, ValueError, AttributeError):
            named, auto = None, None
        profile = str(named) if named else AUTO_PROFILE
        if auto is None:  # a folder from before subtitles.json said whether its profile was chosen
            auto = profile in {"netflix-en", *LANGUAGE_PROFILES.values()}
        if target and auto:
            return profile_for(target)
    if profile == AUTO_PROFILE:
        return profile_for(target or "")
    if profile not in PROFILES:
        raise _fail(f"unknown subtitle profile {profile!r}; valid: {', '.join(sorted(PROFILES))}")
    return PROFILES[profile]


def _media_of(folder: Path) -> tuple[Path | None, bool]:
    try:
        media = json.loads((folder / "result.json").read_text(encoding="utf-8"))["media"]
        return Path(media["path"]), bool(media.get("has_audio", True))
    except (OSError, ValueError, KeyError, TypeError):
        return None, True


def _fitter(language: str) -> Any:
    from app.model_cache import ModelCache
    from app.translations import fitter_for

    return fitter_for(ModelCache(Settings()), language)


def export_command(
    folder: Annotated[Path, typer.Argument(help="Results folder of `lessonlens process`.")],
    target: Annotated[str | None, typer.Option("--target", "-t", help="Target language (e.g. de).")] = None,
    version: Annotated[str, typer.Option(help="XLIFF version: 2.1 or 1.2 (older tools).")] = "2.1",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")] = None,
    profile: Annotated[str | None, typer.Option(help="Subtitle profile for the limits (default: the folder's).")] = None,
) -> None:
    """Write the folder's cues and on-screen texts as XLIFF for translators."""
    from app.translations import export_xliff, local_job_id

    try:
        data = export_xliff(folder, local_job_id(folder), _folder_profile(folder, profile, target), target, version)
    except (AppError, PipelineError) as e:
        raise _fail(getattr(e, "message", str(e))) from None
    if out is None:
        sys.stdout.buffer.write(data)
        return
    from app.stages.context import write_atomic

    write_atomic(out, data)
    typer.echo(f"wrote {out} (XLIFF {version}, {data.count(b'<unit ') or data.count(b'<trans-unit ')} units)",
               err=True)


def import_command(
    folder: Annotated[Path, typer.Argument(help="Results folder of `lessonlens process`.")],
    translated: Annotated[Path, typer.Argument(help="Translated XLIFF, or SRT/WebVTT aligned by cue number.")],
    target: Annotated[str | None, typer.Option("--target", "-t", help="Target language (default: the file's).")] = None,
    mode: Annotated[str, typer.Option(help="reading (subtitles) or speaking (voice-over).")] = "reading",
    profile: Annotated[str | None, typer.Option(help="Subtitle profile (default: the folder's).")] = None,
    preview: Annotated[bool, typer.Option(help="Also render preview.<lang>.mp4.")] = False,
    media: Annotated[Path | None, typer.Option(help="Source video for the preview (default: the folder's).")] = None,
) -> None:
    """Merge a translation: fitted subtitles.<lang>.srt/.vtt (and hardsubs.<lang>.srt/.vtt), a report
    per cue, screen texts."""
    from app.translations import (
        file_language,
        import_translation,
        load_document,
        local_job_id,
        render_translation_preview,
    )

    if mode not in ("reading", "speaking"):
        raise _fail(f"mode must be reading or speaking, not {mode!r}")
    try:
        data = translated.read_bytes()
    except OSError as e:
        raise _fail(f"cannot read {translated}: {e}") from None
    style = _folder_profile(folder, profile, target or file_language(data))
    try:
        doc = load_document(folder, local_job_id(folder), style, target)
        outcome = import_translation(folder, doc, style, data, target, _fitter, mode=mode)  # type: ignore[arg-type]
    except OSError as e:
        raise _fail(f"cannot read {translated}: {e}") from None
    except TranslationFileError as e:
        if len(e.problems) > 1:  # the message names the first few; every one is listed here
            for p in e.problems:
                typer.echo(f"  {p.unit or 'file'}: {p.problem}", err=True)
        raise _fail(str(e)) from None
    except (AppError, PipelineError) as e:
        raise _fail(getattr(e, "message", str(e))) from None
    for warning in outcome.warnings:
        typer.echo(f"warning: {warning}", err=True)
    c = outcome.counts
    said = []
    if doc.cues:
        said.append(f"{c['ok']} cues fit, {c['shortened']} shortened, {c['over']} still over (flagged)")
    if "caption_ok" in c:
        said.append(f"{c['caption_ok']} burned-in captions fit, {c['caption_shortened']} shortened, "
                    f"{c['caption_over']} still over (flagged)")
    said.append(f"{c['screen_over']} on-screen texts too long" if said else
                f"{len(doc.screen)} on-screen texts, {c['screen_over']} too long for their place")
    typer.echo(f"{outcome.language}: {'; '.join(said)}; {outcome.seconds:.1f} s")
    files: list[Any] = list(outcome.files)
    if preview and not outcome.previewable:
        typer.echo("no preview: the translation has on-screen texts only, no subtitles to show", err=True)
    elif preview:
        source, has_audio = _media_of(folder)
        source = media or source
        if source is None or not source.is_file():
            raise _fail("no source video for the preview: give --media")
        try:
            files.append(render_translation_preview(folder, source, outcome.language, has_audio).name)
        except (AppError, PipelineError) as e:
            raise _fail(getattr(e, "message", str(e))) from None
    for name in files:
        typer.echo(f"  {folder / name}")
