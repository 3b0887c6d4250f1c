"""On-screen text handed from an OCR run to a recogniser that runs at the same time.

The OCR run publishes what it has read so far with a watermark: a time before which no later
sample can change a reading (a change is written back at most a few samples, see
``pipelines.ocr.reader``). A recogniser that offers on-screen terms to Whisper stretch by stretch
waits, for each stretch, until the watermark has passed its end (plus the vocabulary margin),
then offers what was read by then. When the run ends it closes the feed with its final events;
the recogniser checks its offers against them and decodes again any stretch whose offer changed
(``pipelines.asr``), so the transcript is the one it would have been after a finished OCR run.

A recogniser that takes the audio in blocks (``pipelines.asr_blocks``) sees the feed from each
block's clock (``seen_from``): the same feed, its times shifted.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipelines.exceptions import PipelineError
from pipelines.vocabulary import ScreenText


class ScreenFeedFailed(PipelineError):
    """The OCR run that fed the screen text stopped without finishing."""


@dataclass(frozen=True)
class ShiftedText:
    """A piece of on-screen text on another clock (``offset`` seconds earlier)."""

    start: float
    end: float
    text: str
    confidence: float
    flags: tuple[str, ...] = ()


def shift_events(events: Sequence[ScreenText], offset: float) -> list[ScreenText]:
    """``events`` on a clock that starts ``offset`` seconds into the media."""
    return [ShiftedText(e.start - offset, e.end - offset, e.text, e.confidence, e.flags) for e in events]


class _Board:
    """What a feed and its views share: the events, the watermark, the end, the readers waiting."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: tuple[ScreenText, ...] = ()
        self.watermark = -math.inf
        self.final = False
        self.failed: str | None = None
        self.waiting = 0


class ScreenFeed:
    """Events published with a watermark, then closed with the final events (thread-safe)."""

    def __init__(self) -> None:
        self._board = _Board()
        self._offset = 0.0

    def seen_from(self, offset: float) -> ScreenFeed:
        """This feed seen from a clock that starts ``offset`` seconds into the media (a block of
        the audio): every question is answered from the same events and watermark, times
        shifted. What is published or closed through it is on the media's clock."""
        view = ScreenFeed()
        view._board, view._offset = self._board, self._offset + offset
        return view

    def _seen(self, events: tuple[ScreenText, ...]) -> tuple[ScreenText, ...]:
        return tuple(shift_events(events, self._offset)) if self._offset else events

    def publish(self, watermark: float, events: Sequence[ScreenText]) -> None:
        """The events read so far; readings before ``watermark`` (seconds) will not change."""
        b = self._board
        with b.cond:
            if b.final:
                return
            b.events, b.watermark = tuple(events), max(b.watermark, watermark)
            b.cond.notify_all()

    def close(self, events: Sequence[ScreenText]) -> None:
        """The run's final events: every reader waiting is answered (a second close is ignored)."""
        b = self._board
        with b.cond:
            if b.final:
                return
            b.events, b.watermark, b.final = tuple(events), math.inf, True
            b.cond.notify_all()

    def fail(self, reason: str) -> None:
        """The run stopped (failed or cancelled): readers waiting raise ScreenFeedFailed."""
        b = self._board
        with b.cond:
            if not b.final:
                b.failed = reason
                b.cond.notify_all()

    def passed(self, until: float) -> bool:
        """Whether ``wait(until)`` would answer now (the watermark passed it, or the run ended)."""
        b = self._board
        with b.cond:
            return b.final or b.failed is not None or b.watermark >= until + self._offset

    def now(self) -> tuple[tuple[ScreenText, ...], float]:
        """The events published so far and the watermark they hold before (inf once final),
        without waiting."""
        b = self._board
        with b.cond:
            events, watermark = b.events, b.watermark
        return self._seen(events), watermark - self._offset

    @property
    def readers_waiting(self) -> int:
        """Readers blocked in ``wait`` now: each is a stage that uses no CPU until the run catches up."""
        b = self._board
        with b.cond:
            return b.waiting

    @property
    def final(self) -> bool:
        """Whether the run ended and the events are final."""
        b = self._board
        with b.cond:
            return b.final

    def wait(self, until: float, check: Callable[[], None] | None = None,
             poll_s: float = 0.5) -> tuple[tuple[ScreenText, ...], bool]:
        """Wait until the watermark passes ``until`` (or the feed closes); the events and whether
        they are final. ``check`` is called every ``poll_s`` seconds of waiting and may raise (a
        cancelled job).

        Raises:
            ScreenFeedFailed: the OCR run stopped without finishing.
        """
        b = self._board
        with b.cond:
            while True:
                if b.failed is not None:
                    raise ScreenFeedFailed(f"on-screen text unavailable: {b.failed}")
                if b.final or b.watermark >= until + self._offset:
                    events, final = b.events, b.final
                    break
                b.waiting += 1
                try:
                    b.cond.wait(poll_s)
                finally:
                    b.waiting -= 1
                if check is not None:
                    b.cond.release()
                    try:
                        check()
                    finally:
                        b.cond.acquire()
        return self._seen(events), final
