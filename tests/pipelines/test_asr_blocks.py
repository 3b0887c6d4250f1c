"""Long audio through Whisper in blocks: times, context and on-screen text on the media's clock."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipelines.asr import AsrOptions, Segment, Transcript, Word
from pipelines.asr_blocks import transcribe_blocks
from pipelines.ocr.tracking import TextEvent
from pipelines.screen_feed import ScreenFeed


class BlockEngine:
    """Hears one word at 0.5 s of each block; records what each call was given."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, audio: np.ndarray, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
        if isinstance(screen, ScreenFeed):
            screen = screen.wait(len(audio) / 16000)[0]
        self.calls.append({"seconds": len(audio) / 16000, "prompt": options.initial_prompt,
                           "language": options.language, "found": options.language_found, "screen": [(e.start, e.end, e.text) for e in screen]})
        k = len(self.calls)
        word = Word(0.5, 0.9, f" block{k}", 0.9)
        if progress:
            progress(1.0)
        return Transcript((Segment(0.5, 0.9, word.text, (word,)),), "de" if k == 1 else "xx", 0.9,
                          len(audio) / 16000, "fake", seconds=1.0, stretches_restored=1, unheard_restored=k,
                          unheard=((2.0, 4.5),))


def test_blocks_are_one_transcript_on_the_media_clock() -> None:
    engine = BlockEngine()
    blocks = [np.zeros(16000 * 10, np.float32), np.zeros(16000 * 5, np.float32)]
    screen = [TextEvent(12.0, 14.0, (0, 0, 1, 1), "Nextcloud", 0.9, 0)]
    progress: list[float] = []
    out = transcribe_blocks(engine, blocks, AsrOptions(language="auto", model="whisper-base"),  # type: ignore[arg-type]
                            progress.append, screen, duration=15.0)
    assert [s.start for s in out.segments] == [0.5, 10.5] and out.segments[1].words[0].start == 10.5
    assert out.text == "block1 block2" and out.language == "de" and out.duration == 15.0 and out.seconds == 2.0
    first, second = engine.calls
    assert first["prompt"] is None and second["prompt"] == "block1"  # the text before carries over
    # found once, then kept; the language still "auto", so that unsure stretches are asked theirs
    assert (first["language"], first["found"]) == ("auto", None) and (second["language"], second["found"]) == ("auto", "de")
    assert first["screen"] == [(12.0, 14.0, "Nextcloud")] and second["screen"] == [(2.0, 4.0, "Nextcloud")]
    assert progress[-1] == 1.0 and progress == sorted(progress)
    # what the guards did, over all blocks; speech left without text on the media's clock
    assert out.stretches_restored == 2 and out.unheard_restored == 3 and out.unheard == ((2.0, 4.5), (12.0, 14.5))


def test_a_language_given_is_every_block_s() -> None:
    engine = BlockEngine()
    blocks = [np.zeros(16000 * 10, np.float32), np.zeros(16000 * 5, np.float32)]
    transcribe_blocks(engine, blocks, AsrOptions(language="fr", model="whisper-base"))  # type: ignore[arg-type]
    assert [(c["language"], c["found"]) for c in engine.calls] == [("fr", None), ("de", None)]  # the first's


def test_one_block_is_the_engine_s_own_transcript() -> None:
    engine = BlockEngine()
    out = transcribe_blocks(engine, [np.zeros(16000, np.float32)], AsrOptions())  # type: ignore[arg-type]
    assert out.segments[0].start == 0.5 and len(engine.calls) == 1


def test_a_live_feed_is_seen_from_each_block() -> None:
    feed = ScreenFeed()
    feed.close([TextEvent(12.0, 14.0, (0, 0, 1, 1), "Nextcloud", 0.9, 0)])
    engine = BlockEngine()
    transcribe_blocks(engine, [np.zeros(16000 * 10, np.float32)] * 2, AsrOptions(), screen=feed)  # type: ignore[arg-type]
    assert engine.calls[1]["screen"] == [(2.0, 4.0, "Nextcloud")]


def test_no_block_is_an_error() -> None:
    with pytest.raises(Exception, match="no audio"):
        transcribe_blocks(BlockEngine(), [], AsrOptions())  # type: ignore[arg-type]


def test_a_block_s_feed_answers_every_question_from_the_live_feed() -> None:
    """Without it, a block's feed answered passed/now/final from an empty feed of its own: never
    passed, so the plain decode made while OCR runs was never given up."""
    feed = ScreenFeed()
    block = feed.seen_from(100.0)
    feed.publish(130.0, [TextEvent(112.0, 114.0, (0, 0, 1, 1), "Nextcloud", 0.9, 0)])
    assert block.passed(29.0) and not block.passed(31.0)
    events, watermark = block.now()
    assert watermark == 30.0 and [(e.start, e.end, e.text) for e in events] == [(12.0, 14.0, "Nextcloud")]
    assert not block.final and block.readers_waiting == 0
    feed.close([])
    assert block.final and block.passed(1e9) and block.now() == ((), float("inf"))
