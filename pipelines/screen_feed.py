"""On-screen text handed from an OCR run to a recogniser that runs at the same time.

The OCR run publishes what it has read so far with a watermark: a time before which no later
sample can change a reading (a change is written back at most a few samples, see
``pipelines.ocr.reader``). A recogniser that offers on-screen terms to Whisper stretch by stretch
waits, for each stretch, until the watermark has passed its end (plus the vocabulary margin),
then offers what was read by then. When the run ends it closes the feed with its final events;
the recogniser checks its offers against them and decodes again any stretch whose offer changed
(``pipelines.asr``), so the transcript is the one it would have been after a finished OCR run.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

from pipelines.exceptions import PipelineError
from pipelines.vocabulary import ScreenText


class ScreenFeedFailed(PipelineError):
    """The OCR run that fed the screen text stopped without finishing."""


class ScreenFeed:
    """Events published with a watermark, then closed with the final events (thread-safe)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._events: tuple[ScreenText, ...] = ()
        self._watermark = -math.inf
        self._final = False
        self._failed: str | None = None
        self._waiting = 0

    def publish(self, watermark: float, events: Sequence[ScreenText]) -> None:
        """The events read so far; readings before ``watermark`` (seconds) will not change."""
        with self._cond:
            if self._final:
                return
            self._events, self._watermark = tuple(events), max(self._watermark, watermark)
            self._cond.notify_all()

    def close(self, events: Sequence[ScreenText]) -> None:
        """The run's final events: every reader waiting is answered (a second close is ignored)."""
        with self._cond:
            if self._final:
                return
            self._events, self._watermark, self._final = tuple(events), math.inf, True
            self._cond.notify_all()

    def fail(self, reason: str) -> None:
        """The run stopped (failed or cancelled): readers waiting raise ScreenFeedFailed."""
        with self._cond:
            if not self._final:
                self._failed = reason
                self._cond.notify_all()

    def passed(self, until: float) -> bool:
        """Whether ``wait(until)`` would answer now (the watermark passed it, or the run ended)."""
        with self._cond:
            return self._final or self._failed is not None or self._watermark >= until

    def now(self) -> tuple[tuple[ScreenText, ...], float]:
        """The events published so far and the watermark they hold before (inf once final),
        without waiting."""
        with self._cond:
            return self._events, self._watermark

    @property
    def readers_waiting(self) -> int:
        """Readers blocked in ``wait`` now: each is a stage that uses no CPU until the run catches up."""
        with self._cond:
            return self._waiting

    @property
    def final(self) -> bool:
        """Whether the run ended and the events are final."""
        with self._cond:
            return self._final

    def wait(self, until: float, check: Callable[[], None] | None = None,
             poll_s: float = 0.5) -> tuple[tuple[ScreenText, ...], bool]:
        """Wait until the watermark passes ``until`` (or the feed closes); the events and whether
        they are final. ``check`` is called every ``poll_s`` seconds of waiting and may raise (a
        cancelled job).

        Raises:
            ScreenFeedFailed: the OCR run stopped without finishing.
        """
        with self._cond:
            while True:
                if self._failed is not None:
                    raise ScreenFeedFailed(f"on-screen text unavailable: {self._failed}")
                if self._final or self._watermark >= until:
                    return self._events, self._final
                self._waiting += 1
                try:
                    self._cond.wait(poll_s)
                finally:
                    self._waiting -= 1
                if check is not None:
                    self._cond.release()
                    try:
                        check()
                    finally:
                        self._cond.acquire()
