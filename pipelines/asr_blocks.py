"""Long audio through Whisper in blocks, so that memory holds a block, not the whole track.

``pipelines.media.audio_blocks`` cuts the audio into blocks of about 15 minutes at pauses, as it
is decoded; ``transcribe_blocks`` decodes them one after another, each with the text before it
as its prompt (as Whisper's own 30 s windows carry context) and the language found in the first,
and puts the times back on the media's clock. Audio up to a block long is one block: exactly
``engine.transcribe``. The on-screen text (a list or a live ``ScreenFeed``) is seen from each
block's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pipelines.asr import SAMPLE_RATE, AsrEngine, AsrOptions, Segment, Transcript
from pipelines.exceptions import OptionsError
from pipelines.screen_feed import ScreenFeed
from pipelines.vocabulary import ScreenText

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class _Shifted:
    """A piece of on-screen text on a block's clock (``offset`` seconds earlier)."""

    start: float
    end: float
    text: str
    confidence: float


def _shift(screen: Sequence[ScreenText], offset: float) -> list[ScreenText]:
    return [_Shifted(e.start - offset, e.end - offset, e.text, e.confidence) for e in screen]


class _ShiftedFeed(ScreenFeed):
    """A live feed seen from a block that starts ``offset`` seconds into the media: every
    reader's question goes to the feed, its times shifted (none is answered from this object's
    own, empty, state)."""

    def __init__(self, feed: ScreenFeed, offset: float) -> None:
        super().__init__()
        self._feed, self._offset = feed, offset

    def wait(self, until: float, check: Callable[[], None] | None = None,
             poll_s: float = 0.5) -> tuple[tuple[ScreenText, ...], bool]:
        events, final = self._feed.wait(until + self._offset, check, poll_s)
        return tuple(_shift(events, self._offset)), final

    def passed(self, until: float) -> bool:
        return self._feed.passed(until + self._offset)

    def now(self) -> tuple[tuple[ScreenText, ...], float]:
        events, watermark = self._feed.now()
        return tuple(_shift(events, self._offset)), watermark - self._offset

    @property
    def readers_waiting(self) -> int:
        return self._feed.readers_waiting

    @property
    def final(self) -> bool:
        return self._feed.final


def transcribe_blocks(
    engine: AsrEngine,
    blocks: Iterable[np.ndarray],
    options: AsrOptions,
    progress: Callable[[float], None] | None = None,
    screen: Sequence[ScreenText] | ScreenFeed = (),
    duration: float = 0.0,
) -> Transcript:
    """Transcribe audio that comes in blocks (``pipelines.media.audio_blocks``: cut at pauses), one
    after another, so memory holds a block, not the whole track: each block is decoded with the
    text before it as its prompt and the language found in the first; times are the media's.
    One block is exactly ``engine.transcribe``. ``duration``: the media's (for progress).
    """
    offset = 0.0
    parts: list[Transcript] = []
    block_options = options
    for block in blocks:
        length = len(block) / SAMPLE_RATE
        start = offset

        def report(fraction: float, start: float = start, length: float = length) -> None:
            if progress is not None:
                progress(min(1.0, (start + fraction * length) / max(duration, start + length, 1e-6)))

        shifted = (_ShiftedFeed(screen, offset) if isinstance(screen, ScreenFeed)
                   else _shift(screen, offset) if offset else screen)
        part = engine.transcribe(block, block_options, progress=report, screen=shifted)
        parts.append(_offset_transcript(part, offset) if offset else part)
        prompt = part.text[-600:] or block_options.initial_prompt
        block_options = replace(options, initial_prompt=prompt if options.condition_on_previous_text else
                                options.initial_prompt, language=parts[0].language)
        offset += length
    if not parts:
        raise OptionsError("no audio to transcribe.")
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return replace(first, segments=tuple(s for p in parts for s in p.segments), duration=offset,
                   seconds=sum(p.seconds for p in parts), loops_repaired=sum(p.loops_repaired for p in parts),
                   vocabulary=tuple(w for p in parts for w in p.vocabulary))


def _offset_transcript(part: Transcript, offset: float) -> Transcript:
    def seg(s: Segment) -> Segment:
        words = tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in s.words)
        return replace(s, start=s.start + offset, end=s.end + offset, words=words)

    return replace(part, segments=tuple(seg(s) for s in part.segments),
                   vocabulary=tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in part.vocabulary))
