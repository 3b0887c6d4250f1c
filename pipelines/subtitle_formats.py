"""SubRip (SRT) and WebVTT writing: the one timestamp format and the one text escaping.

Written by hand rather than through pysubs2, which reads ``{...}`` as ASS override tags and
drops it: screencasts say "{userId}" often enough. Tested against pysubs2's and webvtt-py's
parsers and against the W3C WebVTT escaping rules. The OCR track (``pipelines.ocr.tracking``)
writes its cues with ``format_timestamp`` and ``vtt_escape`` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class TimedLines(Protocol):
    """What the writers need of a cue (``pipelines.subtitles.Cue``, a burned-in caption's cue)."""

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    @property
    def lines(self) -> tuple[str, ...]: ...


def format_timestamp(seconds: float, sep: str = ".") -> str:
    """``HH:MM:SS.mmm`` (WebVTT; ``sep=","`` gives SRT's ``HH:MM:SS,mmm``), negatives as zero."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _clean(line: str) -> str:
    # A blank line would end the cue early in both formats; "-->" would read as a timing line.
    return line.replace("\r", " ").replace("\n", " ").replace("-->", "->").strip()


def to_srt(cues: Sequence[TimedLines]) -> str:
    """SRT document: numbered blocks, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, blank-line separated."""
    blocks = []
    for n, cue in enumerate(cues, start=1):
        lines = "\n".join(_clean(line) for line in cue.lines)
        blocks.append(f"{n}\n{format_timestamp(cue.start, ',')} --> {format_timestamp(cue.end, ',')}\n{lines}\n")
    return "\n".join(blocks)


def vtt_escape(line: str) -> str:
    """One line of cue text, safe in a WebVTT cue: no line break or "-->", ``& < >`` escaped."""
    return _clean(line).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Sequence[TimedLines]) -> str:
    """WebVTT document: ``WEBVTT`` header, ``HH:MM:SS.mmm`` times, text escaped per the spec."""
    blocks = ["WEBVTT\n"]
    for n, cue in enumerate(cues, start=1):
        lines = "\n".join(vtt_escape(line) for line in cue.lines)
        blocks.append(f"{n}\n{format_timestamp(cue.start, '.')} --> {format_timestamp(cue.end, '.')}\n{lines}\n")
    return "\n".join(blocks)
