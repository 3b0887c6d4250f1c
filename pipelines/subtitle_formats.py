"""SubRip (SRT) and WebVTT text for cues, written with pysubs2."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.subtitles import Cue


def _subs(cues: Sequence[Cue]):  # type: ignore[no-untyped-def]
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in cues:
        # \N is pysubs2's line break; braces would be read as override tags, so escape them.
        text = r"\N".join(line.replace("{", r"\{").replace("}", r"\}") for line in cue.lines)
        subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000), text=text))
    return subs


def to_srt(cues: Sequence[Cue]) -> str:
    """SRT document (numbered cues, ``HH:MM:SS,mmm`` times)."""
    return str(_subs(cues).to_string("srt"))


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT document (``WEBVTT`` header, ``HH:MM:SS.mmm`` times)."""
    return str(_subs(cues).to_string("vtt"))
