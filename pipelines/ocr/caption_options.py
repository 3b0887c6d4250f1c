"""The options of burned-in caption extraction (``pipelines.ocr.captions``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.exceptions import OptionsError
from pipelines.ocr.band import BandOptions


@dataclass(frozen=True)
class CaptionOptions:
    """How burned-in captions are extracted.

    Attributes:
        band: a normalised (left, top, right, bottom) caption region given by the user; None:
            found automatically (``band_search``).
        sample_rate: samples per second in the band (at least 8: a 0.4 s caption is 4 samples).
        bright: lowest brightness (max of B, G, R; 0-255) of a caption's letters.
        dark: highest grey level of the outline, shadow or box next to them.
        steady: largest grey-level change from the previous frame of a pixel of the text layer.
        change: share of the text layer (pixels of either mask, with one pixel of tolerance) that
            must differ for "the caption changed"...
        change_letters: ...and how many letters' worth of pixels at least (a letter is about
            ``0.05 * line height²`` pixels of layer), so that footage that looks like strokes
            (a tiled floor) neither hides a short caption nor splits a long one. This is for the
            layer against the stretch's reference (its first sample, or the last one whose lines
            were checked), which drifts as the footage moves.
        step_letters: the same for the layer against the sample just before, a tenth of a
            second away, where the footage drifts little: two changed characters of a CJK
            caption, whose dense strokes mostly lie within a pixel of the old ones, are enough.
        beside_letters: once a caption's lines are known, letters' worth of new strokes beside
            them (a line or words added) for the band to be read again; the footage around a
            caption often changes by a few letters' worth.
        empty_every: an empty band whose layer keeps changing is read again this many seconds
            after it was last read (a faint caption without an outline hardly shows in the
            layer; its start is then found by recognising it in the samples before)...
        empty_every_max: ...the wait doubling, up to this, while the band reads empty.
        min_layer: share of the band's pixels the text layer must cover to hold a caption; below
            it the band is empty and is not read.
        min_duration: stretches shorter than this (seconds: fades, a frame of transition) are
            not read on their own.
        merge_gap: identical readings at most this far apart (seconds) are one cue.
        min_confidence: readings the engine is less sure of (0-1) are dropped.
        same_text: similarity (1 - normalised edit distance) of two readings of one caption.
        widen_off: line heights a caption line's centre may be off the frame's before the line
            is taken as cut short and read again where the text layer has letters out to its
            mirror image (``pipelines.ocr.caption_widen``)...
        widen_sure: ...how much less sure than the line its wider reading may be...
        widen_fuller: ...and how much fuller than the layer read the layer of a later sample of
            the caption must be for its lines to be read again there (a caption read as it
            faded in).
        phrase_gap: a CJK caption line whose text layer is empty over this many heights of its
            letters between two of its characters holds two phrases with a pause between them (a space;
            the recogniser fills it with a "•" or a "，" or drops it): each side is recognised
            alone and, when the sides hold the line's characters, what the line read at the
            pause becomes one space (``pipelines.ocr.caption_widen``); 0: lines as recognised whole.
        pixel_checks: whether a caption's lines are told by their pixels where that is plain (its
            letters and outline unchanged: ``pipelines.ocr.caption_signature``) before they are
            recognised; False: recognised at each check.
        languages: the captions' languages (ISO 639-1): words a Latin-script line ran together
            are split where the word list of the one its words are likeliest in makes them far
            likelier as words ("Pressit": "Press it"; ``pipelines.ocr.word_spacing``)...
        split_words: ...unless False (which also leaves out putting back an apostrophe the recogniser
            dropped: "Ive" -> "I've", ``word_spacing.restore_apostrophe``).
        unify_chinese: Chinese captions written in one form (simplified or traditional, decided
            over all of them) have the characters of the other form that the recogniser slipped
            in converted (``pipelines.ocr.han_variants``: 耶穌 -> 耶稣 in simplified captions).
        band_search: how the band is found.
    """

    band: tuple[float, float, float, float] | None = None
    sample_rate: float = 10.0
    bright: int = 165
    dark: int = 100
    steady: int = 28
    change: float = 0.04
    change_letters: float = 2.5
    step_letters: float = 1.5
    beside_letters: float = 5.0
    empty_every: float = 0.5
    empty_every_max: float = 1.0
    min_layer: float = 0.002
    min_duration: float = 0.06
    merge_gap: float = 0.25
    min_confidence: float = 0.5
    same_text: float = 0.9
    widen_off: float = 0.3
    widen_sure: float = 0.1
    widen_fuller: float = 1.1
    phrase_gap: float = 0.6
    pixel_checks: bool = True
    languages: tuple[str, ...] = ("en",)
    split_words: bool = True
    unify_chinese: bool = True
    band_search: BandOptions = field(default_factory=BandOptions)

    def __post_init__(self) -> None:
        if not 8 <= self.sample_rate <= 60:
            raise OptionsError(f"caption sample_rate must be in [8, 60] per second, got {self.sample_rate}.")
        if self.phrase_gap < 0:
            raise OptionsError(f"caption phrase_gap must be 0 (off) or more heights of a line's letters, got {self.phrase_gap}.")
        if self.band is not None:
            x0, y0, x1, y1 = self.band
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise OptionsError(
                    "caption_band must be a normalised box (left, top, right, bottom) with 0 <= left < right "
                    f"<= 1 and 0 <= top < bottom <= 1, e.g. [0, 0.8, 1, 1] for the bottom fifth, got {list(self.band)}."
                )
