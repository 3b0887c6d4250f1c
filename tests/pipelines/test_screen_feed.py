"""The feed of on-screen text from an OCR run to a recogniser running at the same time."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.ocr.tracking import TextEvent
from pipelines.screen_feed import ScreenFeed, ScreenFeedFailed

EVENT = TextEvent(1.0, 3.0, (0.1, 0.1, 0.9, 0.2), "Export as PDF", 0.95, 0)


def _later(seconds: float, action: object) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()  # type: ignore[operator]

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_reader_waits_until_the_watermark_passes_its_time() -> None:
    feed = ScreenFeed()
    feed.publish(5.0, [EVENT])
    assert feed.wait(4.0) == ((EVENT,), False)  # already passed: no wait
    thread = _later(0.2, lambda: feed.publish(12.0, [EVENT, EVENT]))
    started = time.monotonic()
    events, final = feed.wait(10.0)
    thread.join()
    assert time.monotonic() - started >= 0.15 and len(events) == 2 and not final


def test_closing_answers_every_wait_with_the_final_events() -> None:
    feed = ScreenFeed()
    thread = _later(0.1, lambda: feed.close([EVENT]))
    assert feed.wait(float("inf")) == ((EVENT,), True)
    thread.join()
    feed.close([])  # a second close (the graph's, after the stage's own) changes nothing
    feed.publish(99.0, [])
    assert feed.wait(1.0) == ((EVENT,), True) and feed.final


def test_a_failed_run_stops_the_waiting_reader() -> None:
    feed = ScreenFeed()
    thread = _later(0.1, lambda: feed.fail("stage ocr failed"))
    with pytest.raises(ScreenFeedFailed, match="stage ocr failed"):
        feed.wait(10.0)
    thread.join()


def test_the_check_runs_while_waiting_and_may_stop_it() -> None:
    feed = ScreenFeed()
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        feed.wait(10.0, check, poll_s=0.01)
    assert len(calls) == 3


def test_it_counts_the_readers_waiting_for_the_run_to_catch_up() -> None:
    feed = ScreenFeed()
    assert feed.readers_waiting == 0
    reader = threading.Thread(target=feed.wait, args=(10.0,))
    reader.start()
    deadline = time.monotonic() + 5
    while feed.readers_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert feed.readers_waiting == 1
    feed.publish(12.0, [])
    reader.join(5)
    assert not reader.is_alive() and feed.readers_waiting == 0


def test_now_answers_without_waiting() -> None:
    feed = ScreenFeed()
    assert feed.now() == ((), float("-inf"))
    feed.publish(5.0, [EVENT])
    feed.publish(3.0, [EVENT, EVENT])  # the watermark never goes back
    assert feed.now() == ((EVENT, EVENT), 5.0)
    feed.close([EVENT])
    assert feed.now() == ((EVENT,), float("inf"))


def test_events_seen_from_a_later_block_keep_their_flags() -> None:
    """A label partly hidden on screen (``cut``) is not offered to Whisper in a later audio block
    either: shifted to the block's clock, the event keeps its flags."""
    from pipelines.ocr.tracking import CUT
    from pipelines.screen_feed import shift_events
    from pipelines.vocabulary import offer

    hidden = TextEvent(901.0, 909.0, (0.4, 0.84, 0.47, 0.87), "Torminal", 0.92, 0, flags=(CUT,))
    whole = TextEvent(901.0, 909.0, (0.1, 0.1, 0.3, 0.15), "Launcher", 0.99, 0)
    shifted = shift_events([hidden, whole], 900.0)
    assert [(e.start, e.flags) for e in shifted] == [(1.0, (CUT,)), (1.0, ())]
    assert offer(0.0, 10.0, shifted) == ("Launcher",)
