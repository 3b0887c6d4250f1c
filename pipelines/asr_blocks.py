"""Long audio through Whisper in blocks, so that memory holds a block, not the whole track.

``pipelines.media.audio_blocks`` cuts the audio into blocks of about 15 minutes at pauses, as it
is decoded; ``transcribe_blocks`` decodes them one after another, each with the text before it
as its prompt (as Whisper's own 30 s windows carry context) and the language found in the first
(with language "auto", each unsure stretch of a later block is still asked its own:
``AsrOptions.language_found``), and puts the times back on the media's clock. Audio up to a block long is one block: exactly
``engine.transcribe``. The on-screen text (a list or a live ``ScreenFeed``) is seen from each
block's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from pipelines.asr import SAMPLE_RATE, AsrEngine, AsrOptions, Segment, Transcript
from pipelines.exceptions import OptionsError
from pipelines.screen_feed import ScreenFeed, shift_events
from pipelines.vocabulary import ScreenText

if TYPE_CHECKING:
    import numpy as np


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

        shifted = (screen.seen_from(offset) if isinstance(screen, ScreenFeed)
                   else shift_events(screen, offset) if offset else screen)
        part = engine.transcribe(block, block_options, progress=report, screen=shifted)
        parts.append(_offset_transcript(part, offset) if offset else part)
        prompt = part.text[-600:] or block_options.initial_prompt
        block_options = replace(options, initial_prompt=prompt if options.condition_on_previous_text else
                                options.initial_prompt)
        if options.language == "auto":
            block_options = replace(block_options, language_found=parts[0].language)
        else:
            block_options = replace(block_options, language=parts[0].language)
        offset += length
    if not parts:
        raise OptionsError("no audio to transcribe.")
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return replace(first, segments=tuple(s for p in parts for s in p.segments), duration=offset,
                   seconds=sum(p.seconds for p in parts), loops_repaired=sum(p.loops_repaired for p in parts),
                   stretches_restored=sum(p.stretches_restored for p in parts),
                   unheard_restored=sum(p.unheard_restored for p in parts),
                   unheard=tuple(u for p in parts for u in p.unheard),
                   vocabulary=tuple(w for p in parts for w in p.vocabulary))


def _offset_transcript(part: Transcript, offset: float) -> Transcript:
    def seg(s: Segment) -> Segment:
        words = tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in s.words)
        return replace(s, start=s.start + offset, end=s.end + offset, words=words)

    return replace(part, segments=tuple(seg(s) for s in part.segments),
                   unheard=tuple((a + offset, b + offset) for a, b in part.unheard),
                   vocabulary=tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in part.vocabulary))
