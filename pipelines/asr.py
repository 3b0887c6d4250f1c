"""Speech recognition with Whisper, through faster-whisper (CTranslate2) on packaged weights.

``pipelines.asr_engines.load_engine(name, model_dir, engine=...)`` gives an engine that keeps
its model in memory; call ``engine.transcribe(audio, options)`` per file. ``WhisperEngine``
holds what the implementations share; ``FasterWhisperEngine`` (here, the default) and
``OpenAIWhisperEngine`` (``pipelines.asr_openai``) only decode.

Decoding keeps context: each 30 s window is decoded with the previous window's text as its
prompt, so names and spellings carry over. Context is what makes Whisper loop, so it is
guarded the way long-form Whisper tools guard it: a window whose output compresses too well or
scores too low is decoded again at a higher temperature and the prompt is dropped from there
on; windows that are probably silence are skipped; silence before a suspect segment is skipped
(``hallucination_silence_threshold``); a segment that is probably silence and whose words the
model itself doubts is dropped (``is_silent_guess``); and the output is checked for repetition
loops (``find_loops``): a looping stretch is decoded again without context, and a loop that
survives that is cut to its first occurrence.

Given the text on screen (``screen``), each stretch of speech is decoded with the terms shown
during it as hotwords, and words that match a term but for case take the screen's spelling
(``pipelines.vocabulary``). A run of words that only resembles a term ("Exporting PDF" for
"Export as PDF") takes the screen's spelling when Whisper, scoring both texts of the segment
against its audio, finds the screen's at least as likely (``text_log_probs``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipelines.asr_guards import (
    cut_loops,
    find_loops,
    find_stretched,
    find_unheard,
    is_silent_guess,
    trim_seams,
)
from pipelines.exceptions import OptionsError
from pipelines.models import OPENAI_WHISPER_SUFFIX
from pipelines.screen_feed import ScreenFeed
from pipelines.vocabulary import (
    MARGIN_S,
    WINDOW_S,
    Lookalike,
    ScreenText,
    VocabularyWindow,
    lookalikes,
    offer,
    respell,
    spelled,
    spellings,
    stretches,
    used,
)

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

ENGLISH_MODEL = "whisper-tiny.en"
MULTILINGUAL_MODEL = "whisper-base"
WHISPER_MODELS = (ENGLISH_MODEL, MULTILINGUAL_MODEL)
FASTER_WHISPER = "faster-whisper"
OPENAI_WHISPER = "openai-whisper"
ENGINES = (FASTER_WHISPER, OPENAI_WHISPER)
SAMPLE_RATE = 16_000
# A stretch of speech left without text is given the text of a decode of its own only when that
# decode is confident: German speech decoded as English scored -0.84 (words of a translation),
# English and German in their own language -0.2 and -0.18.
UNHEARD_LOGPROB = -0.6
# ... and when its words (with their slack) cover this share of that speech at least: "Thank you."
# said into 14 s of what voice activity took for speech is a guess.
UNHEARD_COVER = 0.3
# How sure the model must be that a stretch of speech is in another language before it is decoded
# again in it (with ``language`` "auto").
LANGUAGE_SURE = 0.8
LANGUAGE_MIN_S = 1.0  # a segment shorter than this is too short to tell its language
# Whisper base decoding German speech as English (a translation) scored -0.76 to -0.90; English and
# German heard as themselves -0.11 to -0.37 on clean speech, -0.52 to -0.62 on film dialogue. Only a
# segment under this is asked its language (one more pass of the encoder for each run of them).
LANGUAGE_DOUBT_LOGPROB = -0.5


def engine_model(name: str, engine: str) -> str:
    """The registry name of the weights ``engine`` runs for Whisper model ``name``: the
    CTranslate2 folder itself, or its conversion to an openai-whisper checkpoint."""
    return name if engine == FASTER_WHISPER else name + OPENAI_WHISPER_SUFFIX


WHISPER_LANGUAGES = frozenset((
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht "
    "hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl "
    "ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue").split())
"""The language codes Whisper models understand: faster-whisper's list (``faster_whisper.tokenizer``),
written out so that checking a job's options does not import faster-whisper (CTranslate2, PyAV,
tokenizers: ~0.4 s of CPU and ~60 MB in every HTTP process, and in the job process on its first job,
whatever its stages). A test holds it to faster-whisper's."""


def whisper_languages() -> frozenset[str]:
    """The language codes Whisper models understand (``WHISPER_LANGUAGES``)."""
    return WHISPER_LANGUAGES


@dataclass(frozen=True)
class AsrOptions:
    """How to transcribe.

    Attributes:
        engine: the Whisper implementation: faster-whisper (CTranslate2, int8 on CPU) or
            openai-whisper (PyTorch, on the same weights converted at install; slower on CPU).
            openai-whisper has no hotwords: they (and on-screen terms) are carried as a prompt
            on every window; it resets the prompt above temperature 0.5, whatever
            ``prompt_reset_on_temperature`` says.
        model: a registry name, or "auto": tiny.en for English, base for anything else.
        language: an ISO 639-1 code, or "auto" to detect it (needs a multilingual model).
        beam_size: beam search width; 5 is Whisper's own default.
        vad_filter: drop non-speech with Silero VAD before decoding (fewer hallucinations).
        word_timestamps: per-word timings (the subtitle segmenter needs them).
        initial_prompt: text that primes spelling and style (e.g. product names).
        hotwords: words to favour, space-separated.
        condition_on_previous_text: prompt each window with the text decoded so far (context).
        compression_ratio_threshold: a window whose text gzips better than this is a loop:
            decode it again at the next temperature.
        log_prob_threshold: a window whose mean token log-probability is below this is decoded
            again at the next temperature (and with ``no_speech_threshold``, marks silence).
        no_speech_threshold: a window this likely to be silence, and scoring below
            ``log_prob_threshold``, is skipped.
        prompt_reset_on_temperature: after a fallback above this temperature, later windows
            are decoded without the earlier text (the context that led it astray).
        hallucination_silence_threshold: seconds of silence to skip before a segment that
            looks hallucinated (needs word timestamps); None leaves such segments alone.
        repetition_check: decode a repetition loop in the output again without context, and
            cut what still loops; the same for a stretch where a word is held over speech
            (``asr_guards.find_stretched``: a decode that lost its way and dropped what was said),
            for speech left without text (``asr_guards.find_unheard``), and, with ``language``
            "auto", for speech in another language than the one found at the start
            (``WhisperEngine._repair_languages``).
        language_found: with ``language`` "auto", the language an earlier block of the recording
            was found in (``pipelines.asr_blocks``): decoded in it, without asking again, while
            segments decoded unsurely are still asked theirs.
        fit_words_to_speech: move word edges out of the silence measured on the audio (a word's
            end run on into a pause, a start in the pause before it) and widen words under 0.1 s
            (zero-length ones) to 0.1 s where there is room (``pipelines.word_times``); never
            changes a word's text.
    """

    engine: str = FASTER_WHISPER
    model: str = "auto"
    language: str = "en"
    beam_size: int = 5
    vad_filter: bool = True
    word_timestamps: bool = True
    initial_prompt: str | None = None
    hotwords: str | None = None
    condition_on_previous_text: bool = True
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    prompt_reset_on_temperature: float = 0.5
    hallucination_silence_threshold: float | None = 2.0
    repetition_check: bool = True
    language_found: str | None = None
    fit_words_to_speech: bool = True

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise OptionsError(f"Unknown ASR engine {self.engine!r}. Valid: {', '.join(ENGINES)}.")
        if self.model != "auto" and self.model not in WHISPER_MODELS:
            raise OptionsError(
                f"Unknown Whisper model {self.model!r}. Valid: auto, {', '.join(WHISPER_MODELS)}."
            )
        if not 1 <= self.beam_size <= 20:
            raise OptionsError(f"beam_size must be between 1 and 20, got {self.beam_size}.")
        if self.language != "auto" and self.language not in whisper_languages():
            raise OptionsError(
                f"language must be 'auto' or a language code Whisper knows (en, de, fr, ... "
                f"{len(whisper_languages())} in all), got {self.language!r}."
            )
        if not 1.0 <= self.compression_ratio_threshold <= 10.0:
            raise OptionsError(
                f"compression_ratio_threshold must be between 1 and 10, got {self.compression_ratio_threshold}."
            )
        if not 0.0 <= self.no_speech_threshold <= 1.0:
            raise OptionsError(f"no_speech_threshold must be between 0 and 1, got {self.no_speech_threshold}.")
        if self.log_prob_threshold > 0:
            raise OptionsError(f"log_prob_threshold is a log-probability (<= 0), got {self.log_prob_threshold}.")
        if self.hallucination_silence_threshold is not None and self.hallucination_silence_threshold <= 0:
            raise OptionsError("hallucination_silence_threshold must be positive seconds or null.")
        if self.language_found is not None and (self.language != "auto" or self.language_found not in whisper_languages()):
            raise OptionsError(f"language_found is a language code Whisper knows, for language 'auto' only; got "
                               f"{self.language_found!r} with language {self.language!r}.")
        if self.model == ENGLISH_MODEL and self.language not in ("en", "auto"):
            raise OptionsError(
                f"{ENGLISH_MODEL} only understands English; for language {self.language!r} use "
                f"model {MULTILINGUAL_MODEL!r} or 'auto'."
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AsrOptions:
        """Build from user-supplied values, with a clear error for unknown keys or bad types."""
        names = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(names)
        if unknown:
            raise OptionsError(f"Unknown ASR option(s): {', '.join(sorted(unknown))}.")
        try:
            clean: dict[str, Any] = {}
            for key, value in values.items():
                kind = str(names[key].type)
                if value is None and "None" in str(kind):
                    clean[key] = None
                elif kind == "bool":
                    if not isinstance(value, bool):
                        raise TypeError(f"{key} must be true or false")
                    clean[key] = value
                elif kind == "int":
                    clean[key] = int(value)
                elif kind.startswith("float"):
                    if isinstance(value, bool):
                        raise TypeError(f"{key} must be a number")
                    clean[key] = float(value)
                else:
                    clean[key] = None if value is None else str(value)
        except (TypeError, ValueError) as err:
            raise OptionsError(f"Bad ASR option: {err}.") from None
        return cls(**clean)

    def resolved_model(self) -> str:
        """The Whisper model this request runs on."""
        if self.model != "auto":
            return self.model
        return ENGLISH_MODEL if self.language == "en" else MULTILINGUAL_MODEL

    def weights(self) -> str:
        """The registry name of the weights this request loads (the engine's own format)."""
        return engine_model(self.resolved_model(), self.engine)


@dataclass(frozen=True)
class Word:
    """One recognised word; ``text`` keeps Whisper's leading space."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    temperature: float = 0.0
    language: str = ""  # "" the transcript's; else the one it was heard in (``_repair_languages``, ``_repair_unheard``)


@dataclass(frozen=True)
class Transcript:
    """Everything Whisper said about one audio track.

    ``loops_repaired`` counts repetition loops found in the output and decoded again;
    ``stretches_restored``, stretches with a word held over speech decoded again and replaced;
    ``unheard_restored``, stretches of speech left without text that a decode of their own heard
    (``WhisperEngine._repair_unheard``); ``unheard``, those still without text, (start, end);
    ``vocabulary`` lists, per stretch of speech, the on-screen terms offered and those used.
    """

    segments: tuple[Segment, ...]
    language: str
    language_probability: float
    duration: float
    model: str
    seconds: float = 0.0
    loops_repaired: int = 0
    vocabulary: tuple[VocabularyWindow, ...] = ()
    stretches_restored: int = 0
    unheard_restored: int = 0
    unheard: tuple[tuple[float, float], ...] = ()

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()


class AsrEngine(Protocol):
    """A loaded speech recogniser."""

    name: str

    def transcribe(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        progress: Callable[[float], None] | None = None,
        screen: Sequence[ScreenText] | ScreenFeed = (),
    ) -> Transcript: ...

    def detect_language(self, audio: np.ndarray) -> DecodeInfo:
        """The language spoken in (the first 30 s of) ``audio``, and how sure the model is."""
        ...


def _respelled(segment: Segment, terms: Sequence[str]) -> Segment:
    if not segment.words or not terms:
        return segment
    texts = respell([w.text for w in segment.words], terms)
    words = tuple(replace(w, text=t) for w, t in zip(segment.words, texts, strict=True))
    return replace(segment, words=words, text="".join(texts))


AUDIO_PAD_S = 0.3  # audio kept around a segment's words when scoring its text


def _hotwords(options: AsrOptions, terms: Sequence[str]) -> str | None:
    """The hotwords of a decode: the job's, then the on-screen terms."""
    return ", ".join([*([options.hotwords] if options.hotwords else []), *terms]) or None


def _spread(heard: Sequence[Word], texts: Sequence[str]) -> list[Word]:
    """Words with ``texts`` over the time the ``heard`` words took, shared by length."""
    start, end = heard[0].start, heard[-1].end
    sizes = [max(1, len(t.strip())) for t in texts]
    total, at, out = sum(sizes), start, []
    probability = min(w.probability for w in heard)
    for text, size in zip(texts, sizes, strict=True):
        step = (end - start) * size / total
        out.append(Word(round(at, 3), round(at + step, 3), text, probability))
        at += step
    return out


@dataclass(frozen=True)
class DecodeInfo:
    """What a decode found besides the words: the language (given or detected) and its probability;
    from a detection, every language's probability (``probabilities``; empty where not known)."""

    language: str
    language_probability: float
    probabilities: Mapping[str, float] = field(default_factory=dict, compare=False)


class _PlainNotNeeded(Exception):
    """The plain decode made while OCR runs is not needed: a stretch from ``start`` has terms."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.start = start


class WhisperEngine:
    """What every Whisper implementation shares: the decoding guards, the screen vocabulary and
    the transcript. A subclass decodes one stretch of audio (``_decode``) and counts the tokens
    of a word (``token_count``)."""

    name: str
    multilingual: bool

    def _decode(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        language: str | None,
        *,
        context: bool,
        offset: float = 0.0,
        progress: Callable[[float], None] | None = None,
        terms: Sequence[str] = (),
    ) -> tuple[list[Segment], DecodeInfo]:
        """Segments of ``audio`` (times shifted by ``offset``); ``context``: use the prompt and
        the previous text; ``terms``: on-screen words to favour."""
        raise NotImplementedError

    def token_count(self, word: str) -> int | None:
        """How many tokens Whisper's tokenizer cuts ``word`` into (None: no tokenizer at hand)."""
        raise NotImplementedError

    def detect_language(self, audio: np.ndarray) -> DecodeInfo:
        """The language spoken in (the first 30 s of) ``audio``, and how sure the model is."""
        raise NotImplementedError

    def text_log_probs(
        self, audio: np.ndarray, texts: Sequence[str], language: str, hotwords: str | None = None
    ) -> list[float] | None:
        """log P(text | audio) of each text in ``language``, as Whisper scores it with ``hotwords``
        as its prompt (None: this implementation cannot score)."""
        return None

    def _respelled_by_audio(
        self, audio: np.ndarray, segment: Segment, terms: Sequence[str], language: str, hotwords: str | None
    ) -> Segment:
        """The segment with each run that resembles a term spelled as the term, where the audio
        scores that text at least as high as what was heard; best-scoring first."""
        runs = lookalikes([w.text for w in segment.words], terms)
        if not runs:
            return segment
        start = max(0.0, segment.words[0].start - AUDIO_PAD_S)
        piece = audio[int(start * SAMPLE_RATE) : int((segment.words[-1].end + AUDIO_PAD_S) * SAMPLE_RATE)]
        heard = [w.text for w in segment.words]
        texts = ["".join(heard)] + ["".join(heard[: r.start] + spelled(heard, r) + heard[r.end :]) for r in runs]
        scores = self.text_log_probs(piece, texts, language, hotwords)
        if scores is None:
            return segment
        gains = {k: s - scores[0] for k, s in enumerate(scores[1:]) if s >= scores[0]}
        taken: list[Lookalike] = []
        for k in sorted(gains, key=lambda k: -gains[k]):  # best gain first; overlapping runs wait
            run = runs[k]
            if all(run.end <= t.start or run.start >= t.end for t in taken):
                taken.append(run)
        words = list(segment.words)
        for run in sorted(taken, key=lambda r: -r.start):  # right to left: indices stay valid
            words[run.start : run.end] = _spread(words[run.start : run.end], spelled(heard, run))
            log.info("%r heard as %r: the audio agrees with the screen's spelling", run.term,
                     "".join(heard[run.start : run.end]).strip())
        return replace(segment, words=tuple(words), text="".join(w.text for w in words))

    def _repair_loops(
        self, audio: np.ndarray, segments: list[Segment], options: AsrOptions, language: str | None
    ) -> tuple[list[Segment], int]:
        """Decode each looping stretch again without context; cut what still loops."""
        loops = find_loops(segments)
        for i, j in reversed(loops):
            start, end, redone = self._redecode(audio, segments, i, j, options, language)
            log.info("repetition loop in %.1f-%.1f s decoded again without context", start, end)
            segments[i:j] = cut_loops(redone) if find_loops(redone) else redone
        return segments, len(loops)

    def _redecode(self, audio: np.ndarray, segments: list[Segment], i: int, j: int, options: AsrOptions,
                  language: str | None, *, to_end: bool = True) -> tuple[float, float, list[Segment]]:
        """Segments ``[i, j)`` decoded again without context, from 0.2 s before the first to 0.2 s
        after the last (not past the next one's start; ``to_end``: to the end of the audio after
        the last segment): (start, end, the new segments)."""
        start = max(0.0, segments[i].start - 0.2)
        end = segments[j - 1].end + 0.2 if j < len(segments) or not to_end else len(audio) / SAMPLE_RATE
        end = min(end, len(audio) / SAMPLE_RATE)
        if j < len(segments):
            end = min(end, segments[j].start)
        piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        redone, _ = self._decode(piece, options, language, context=False, offset=start)
        return start, end, redone

    def _repair_stretched(
        self, audio: np.ndarray, segments: list[Segment], options: AsrOptions, language: str | None
    ) -> tuple[list[Segment], int]:
        """Decode each stretch with a word held over speech (``find_stretched``) again without
        context; the new decode replaces it when it has more words and none held so."""
        def speech_share(start: float, end: float) -> float:
            from faster_whisper.vad import VadOptions, get_speech_timestamps

            piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            if not len(piece):
                return 0.0
            chunks = get_speech_timestamps(piece, VadOptions())
            return float(sum(c["end"] - c["start"] for c in chunks)) / len(piece)

        ranges = find_stretched(segments, speech_share)
        replaced = 0
        for i, j in reversed(ranges):
            start, end, redone = self._redecode(audio, segments, i, j, options, language)
            redone = trim_seams(redone, segments[i - 1] if i else None, segments[j] if j < len(segments) else None)
            before, after = (sum(len(s.words) for s in part) for part in (segments[i:j], redone))
            better = after > before and not find_stretched(redone, speech_share)
            log.info("a word held over speech in %.1f-%.1f s: decoded again without context, %d words "
                     "instead of %d%s", start, end, after, before, "" if better else " (kept the first decode)")
            if better:
                segments[i:j] = redone
                replaced += 1
        return segments, replaced

    def _repair_languages(
        self, audio: np.ndarray, segments: list[Segment], options: AsrOptions, language: str
    ) -> list[Segment]:
        """Runs of segments spoken in another language than ``language``, decoded again alone in
        that language, in place of what was heard there. Decoding a whole recording in the
        language found at its start gives, for speech in another, an English translation of it
        (or nothing: ``_repair_unheard``); a bilingual recording's German half came out in English.

        Only segments decoded unsurely (mean token log-probability under
        ``LANGUAGE_DOUBT_LOGPROB``: a translation scores so, speech heard in its own language
        mostly above) are asked, a run of them at a time (up to a window); where the model is not
        sure (``LANGUAGE_SURE``) of the run's language, each of its segments is (one under
        ``LANGUAGE_MIN_S`` takes the one before it), so that what is decoded again starts and ends
        where the language changes."""
        def ask(i: int, j: int) -> DecodeInfo:
            return self.detect_language(audio[int(segments[i].start * SAMPLE_RATE) : int(segments[j - 1].end * SAMPLE_RATE)])

        unsure: list[tuple[int, int]] = []  # [i, j) of consecutive unsure segments, a window at most
        for k, seg in enumerate(segments):
            if seg.avg_logprob >= LANGUAGE_DOUBT_LOGPROB:
                continue
            if unsure and unsure[-1][1] == k and seg.end - segments[unsure[-1][0]].start <= WINDOW_S:
                unsure[-1] = (unsure[-1][0], k + 1)
            else:
                unsure.append((k, k + 1))
        code_of: dict[int, str] = {}
        for i, j in unsure:
            found = ask(i, j)
            if found.language_probability >= LANGUAGE_SURE or j - i == 1:
                code = found.language if found.language_probability >= LANGUAGE_SURE else language
                code_of.update({k: code for k in range(i, j)})
                continue
            previous = language
            for k in range(i, j):
                if segments[k].end - segments[k].start >= LANGUAGE_MIN_S:
                    here = ask(k, k + 1)
                    previous = here.language if here.language_probability >= LANGUAGE_SURE else language
                code_of[k] = previous
        runs: list[tuple[int, int, str]] = []  # [i, j) of segments, their language
        for k in sorted(code_of):
            if code_of[k] == language:
                continue
            if runs and runs[-1][1] == k and runs[-1][2] == code_of[k]:
                runs[-1] = (runs[-1][0], k + 1, code_of[k])
            else:
                runs.append((k, k + 1, code_of[k]))
        for i, j, code in reversed(runs):
            start, end, redone = self._redecode(audio, segments, i, j, options, code, to_end=False)
            redone = [replace(seg, language=code) for seg in redone if seg.words and not is_silent_guess(seg, options)]
            log.info("speech at %.1f-%.1f s is in %s, not %s: decoded alone in it, %d words instead of %d", start, end,
                     code, language, sum(len(seg.words) for seg in redone), sum(len(seg.words) for seg in segments[i:j]))
            segments[i:j] = redone
        return segments

    def _repair_unheard(
        self, audio: np.ndarray, segments: list[Segment], options: AsrOptions, language: str
    ) -> tuple[list[Segment], int, list[tuple[float, float]]]:
        """Decode each stretch of speech left without text (``find_unheard``) again, alone and
        without context: with ``language`` "auto" on a multilingual model, in the language Whisper
        finds in that stretch. A segment of the new decode is kept when it is confident (decoded
        without falling back to sampling, mean token log-probability at least ``UNHEARD_LOGPROB``)
        and not a guess into silence, and the decode when its words cover ``UNHEARD_COVER`` of the
        stretch at least; a segment heard in another language than ``language`` says
        so (``Segment.language``).

        Returns the segments, how many stretches were heard, and those still without text.
        """
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        if not len(audio):
            return segments, 0, []
        speech = [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in get_speech_timestamps(audio, VadOptions())]
        spans = find_unheard(segments, speech)
        detect = options.language == "auto" and self.multilingual
        heard, left = 0, []
        for start, end in spans:
            piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            redone, info = self._decode(piece, options, None if detect else language, context=False, offset=start)
            kept = [replace(seg, language="" if info.language == language else info.language) for seg in redone
                    if seg.words and seg.temperature == 0 and seg.avg_logprob >= UNHEARD_LOGPROB
                    and not is_silent_guess(seg, options)]
            bare = sum(b - a for a, b in find_unheard(kept, [(start, end)], min_s=0.0, join_s=0.0))
            if kept and bare > (1.0 - UNHEARD_COVER) * (end - start):
                kept = []  # a few words for much speech: a guess (music, noise), not what was said
            if not kept:
                log.warning("%.1f s of speech at %.1f-%.1f s has no text: Whisper heard none in it, alone either "
                            "(%s)", end - start, start, end,
                            "another language? transcribe with language auto" if not detect else
                            f"heard as {info.language}, not confidently")
                left.append((round(start, 3), round(end, 3)))
                continue
            heard += 1
            log.info("%.1f s of speech at %.1f-%.1f s had no text: decoded alone%s, %d words", end - start, start, end,
                     f" in {info.language}" if detect else "", sum(len(seg.words) for seg in kept))
            segments = sorted([*segments, *kept], key=lambda seg: seg.start)
        return segments, heard, left

    def _rare(self) -> Callable[[str], bool]:
        def rare(word: str) -> bool:  # Whisper's tokenizer cuts an unusual word into many pieces
            count = self.token_count(" " + word)
            return count is not None and count >= 3

        return rare

    @staticmethod
    def _spans(audio: np.ndarray) -> list[tuple[float, float]]:
        """The stretches of speech (VAD chunks joined up to one Whisper window) of ``audio``.

        A chunk longer than a window is cut at its last pause of 0.1 s or more before it (else at
        the window): narration whose pauses are all shorter than VAD's 2 s would otherwise be one
        stretch, decoded only once OCR has passed all of it, with every term on screen offered."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        chunks = get_speech_timestamps(audio, VadOptions(max_speech_duration_s=WINDOW_S))
        return stretches([(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in chunks])

    def _decode_with_screen(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        language: str | None,
        screen: Sequence[ScreenText] | ScreenFeed,
        progress: Callable[[float], None] | None = None,
        plain: list[tuple[list[Segment], DecodeInfo]] | None = None,
    ) -> tuple[list[Segment], DecodeInfo | None, list[VocabularyWindow]] | None:
        """Decode stretch by stretch, each with the terms on screen during it; None when none are.

        With a live ``ScreenFeed`` (OCR running meanwhile) each stretch is decoded once the feed's
        watermark has passed it, on the terms read by then; once the feed is final the offers are
        made again and only the stretches whose offer (or prompt) changed are decoded again. While
        no stretch has terms and the feed is behind, the plain decode is made meanwhile (into
        ``plain``): the transcript when no stretch ever gets terms, made while OCR still runs.
        """
        rare, spans = self._rare(), self._spans(audio)
        decoded: dict[tuple[float, tuple[str, ...], str | None], tuple[list[Segment], DecodeInfo, str]] = {}
        if isinstance(screen, ScreenFeed):
            screen = self._speculate(audio, options, language, screen, spans, rare, decoded, progress,
                                     [] if plain is None else plain)
        windows = [VocabularyWindow(start, end, offer(start, end, screen, rare)) for start, end in spans]
        if not any(w.offered for w in windows):
            return None
        return self._decode_windows(audio, options, language, windows, decoded, progress)

    def _speculate(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        language: str | None,
        feed: ScreenFeed,
        spans: list[tuple[float, float]],
        rare: Callable[[str], bool],
        decoded: dict[tuple[float, tuple[str, ...], str | None], tuple[list[Segment], DecodeInfo, str]],
        progress: Callable[[float], None] | None,
        plain: list[tuple[list[Segment], DecodeInfo]],
    ) -> tuple[ScreenText, ...]:
        """Decode the stretches as the feed's watermark passes them (into ``decoded``), from the
        first stretch with terms on screen on; return the feed's final events. The first time it
        would wait with no terms offered yet, it makes the plain decode (into ``plain``) instead,
        unless the part of a stretch the feed has passed has terms already, and gives it up as
        soon as it has (the transcript will be decoded stretch by stretch then: 10 minutes of a
        screencast's plain decode were 12 % of its job's CPU for nothing)."""
        done = [0.0]

        def check() -> None:  # a cancelled job stops while it waits
            if progress:
                progress(done[0])

        checked = [0]  # the stretches the feed had passed, without terms, when last looked at

        def terms_from() -> float | None:
            """The start of a stretch with terms in the part of it the feed has passed; its offer
            can only gain terms as the rest is read (the first stretch of a screencast is ~25 s,
            which OCR passes well after the first term on screen)."""
            events, watermark = feed.now()
            while checked[0] < len(spans) and spans[checked[0]][0] - MARGIN_S <= watermark:
                start, end = spans[checked[0]]
                # what the feed has passed of the stretch's window (the stretch and its margins)
                if offer(start, min(end, watermark - MARGIN_S), events, rare):
                    return start
                if end + MARGIN_S > watermark:
                    break
                checked[0] += 1
            return None

        def unless_terms(_: float) -> None:
            check()
            if (start := terms_from()) is not None:
                raise _PlainNotNeeded(start)

        windows: list[VocabularyWindow] = []
        plain_tried = False
        for start, end in spans:
            if (not plain_tried and not any(w.offered for w in windows) and not feed.passed(end + MARGIN_S)
                    and terms_from() is None):
                plain_tried = True
                try:
                    plain.append(self._decode(audio, options, language, context=True, progress=unless_terms))
                except _PlainNotNeeded as stop:
                    log.info("plain decode given up: the screen has terms from %.1f s on", stop.start)
            events, final = feed.wait(end + MARGIN_S, check)
            if final:
                break
            windows.append(VocabularyWindow(start, end, offer(start, end, events, rare)))
            if any(w.offered for w in windows):  # a video without screen terms is one plain decode
                self._decode_windows(audio, options, language, windows, decoded, None)
                done[0] = min(1.0, end / max(len(audio) / SAMPLE_RATE, 1e-6))
                check()
        return feed.wait(math.inf, check)[0]

    def _decode_windows(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        language: str | None,
        windows: Sequence[VocabularyWindow],
        decoded: dict[tuple[float, tuple[str, ...], str | None], tuple[list[Segment], DecodeInfo, str]],
        progress: Callable[[float], None] | None,
    ) -> tuple[list[Segment], DecodeInfo | None, list[VocabularyWindow]]:
        """Decode each window with its terms, the text before it as its prompt; a window already
        in ``decoded`` with the same terms and prompt is not decoded again."""
        segments: list[Segment] = []
        out: list[VocabularyWindow] = []
        info: DecodeInfo | None = None
        previous = options.initial_prompt
        duration = len(audio) / SAMPLE_RATE
        rare = self._rare()
        for w in windows:
            prompt = previous if options.condition_on_previous_text else None
            key = (w.start, w.offered, prompt)
            if key not in decoded:
                piece = audio[int(w.start * SAMPLE_RATE) : int(w.end * SAMPLE_RATE)]
                got, got_info = self._decode(piece, replace(options, initial_prompt=prompt), language, context=True,
                                             offset=w.start, terms=w.offered)
                got = [_respelled(seg, w.offered) for seg in got]
                terms = spellings(w.offered, rare)
                got = [self._respelled_by_audio(audio, seg, terms, got_info.language, _hotwords(options, w.offered))
                       for seg in got]
                decoded[key] = (got, got_info, "".join(s.text for s in got))
            got, info, text = decoded[key]
            segments.extend(got)
            out.append(replace(w, used=used(w.offered, text)))
            previous = text.strip()[-600:] or previous  # context for the next stretch, as across windows
            if progress and duration > 0:
                progress(min(1.0, w.end / duration))
        return segments, info, out

    def transcribe(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        progress: Callable[[float], None] | None = None,
        screen: Sequence[ScreenText] | ScreenFeed = (),
    ) -> Transcript:
        """Transcribe 16 kHz mono ``audio``; ``screen``: on-screen text to offer as vocabulary, or
        a feed of it from an OCR run going on meanwhile."""
        if options.language == "auto" and not self.multilingual:
            language: str | None = "en"
        elif options.language == "auto":
            language = options.language_found  # None: found in this audio
        else:
            language = options.language
        if language not in (None, "en") and not self.multilingual:
            raise OptionsError(f"{self.name} is English-only; it cannot transcribe {language!r}.")
        started = time.monotonic()
        plain: list[tuple[list[Segment], DecodeInfo]] = []  # made while waiting on a live feed
        by_stretch = self._decode_with_screen(audio, options, language, screen, progress, plain) if screen else None
        vocabulary: list[VocabularyWindow] = []
        if by_stretch is not None and by_stretch[1] is not None:
            segments, vocabulary = by_stretch[0], by_stretch[2]
            info = by_stretch[1]
        elif plain:
            segments, info = plain[0]
        else:
            segments, info = self._decode(audio, options, language, context=True, progress=progress)
        segments = [seg for seg in segments if not is_silent_guess(seg, options)]
        repaired = restored = heard = 0
        unheard: list[tuple[float, float]] = []
        if options.repetition_check:
            segments, repaired = self._repair_loops(audio, segments, options, info.language)
            segments, restored = self._repair_stretched(audio, segments, options, info.language)
            if options.language == "auto" and self.multilingual:
                segments = self._repair_languages(audio, segments, options, info.language)
            segments, heard, unheard = self._repair_unheard(audio, segments, options, info.language)
        if options.fit_words_to_speech:
            from pipelines.word_times import fit_segments  # NumPy, which the API's start-up does without

            segments = fit_segments(segments, audio, SAMPLE_RATE)
        if progress:
            progress(1.0)
        return Transcript(
            segments=tuple(segments),
            language=info.language,
            language_probability=info.language_probability,
            duration=float(len(audio)) / SAMPLE_RATE,
            model=self.name,
            seconds=time.monotonic() - started,
            loops_repaired=repaired,
            stretches_restored=restored,
            vocabulary=tuple(vocabulary),
            unheard_restored=heard,
            unheard=tuple(unheard),
        )


class FasterWhisperEngine(WhisperEngine):
    """Whisper on CTranslate2. Thread-safe for concurrent ``transcribe`` calls.

    ``model`` is the ``faster_whisper.WhisperModel`` (benchmarks compare against it alone).
    """

    def __init__(self, name: str, model: Any, batch_size: int = 1) -> None:
        from pipelines.asr_features import use_bounded_vad, use_chunked_features

        self.name = name
        self.model = model
        # features a stretch at a time, voice activity 16 s at a time: the peak no longer grows
        # with the block (``asr_features``)
        use_chunked_features(model)
        use_bounded_vad()
        self.multilingual = bool(model.model.is_multilingual)
        self.batch_size = batch_size
        self._batched: Any = None
        if batch_size > 1:  # speech chunks (VAD) decoded side by side: what keeps a GPU busy
            from faster_whisper import BatchedInferencePipeline

            self._batched = BatchedInferencePipeline(model)

    @classmethod
    def load(
        cls, name: str, folder: Path, *, device: str = "cpu", cpu_threads: int = 0, num_workers: int = 1,
        compute_type: str | None = None, batch_size: int = 1,
    ) -> FasterWhisperEngine:
        """``compute_type``: CTranslate2's (None: int8 on a CPU, float16 on a GPU); ``batch_size`` > 1
        decodes that many speech chunks at once (faster-whisper's batched pipeline; for GPUs)."""
        from faster_whisper import WhisperModel

        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute_type = compute_type or ("int8" if device == "cpu" else "float16")
        model = WhisperModel(
            str(folder), device=device, compute_type=compute_type, cpu_threads=cpu_threads, num_workers=num_workers
        )
        return cls(name, model, batch_size)

    def _decode(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        language: str | None,
        *,
        context: bool,
        offset: float = 0.0,
        progress: Callable[[float], None] | None = None,
        terms: Sequence[str] = (),
    ) -> tuple[list[Segment], DecodeInfo]:
        hotwords = _hotwords(options, terms)
        batched = {"batch_size": self.batch_size} if self._batched is not None else {}
        segments_iter, info = (self._batched or self.model).transcribe(
            audio,
            **batched,
            language=language,
            beam_size=options.beam_size,
            vad_filter=options.vad_filter,
            word_timestamps=options.word_timestamps,
            initial_prompt=options.initial_prompt if context else None,
            hotwords=hotwords,
            condition_on_previous_text=context and options.condition_on_previous_text,
            compression_ratio_threshold=options.compression_ratio_threshold,
            log_prob_threshold=options.log_prob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            prompt_reset_on_temperature=options.prompt_reset_on_temperature,
            hallucination_silence_threshold=options.hallucination_silence_threshold,
        )
        duration = float(len(audio)) / SAMPLE_RATE
        segments: list[Segment] = []
        for seg in segments_iter:  # decoding happens while iterating
            words = tuple(
                Word(offset + float(w.start), offset + float(w.end), w.word, float(w.probability))
                for w in (seg.words or [])
            )
            segments.append(
                Segment(
                    offset + float(seg.start),
                    offset + float(seg.end),
                    seg.text,
                    words,
                    float(seg.avg_logprob),
                    float(seg.no_speech_prob),
                    float(seg.compression_ratio),
                    float(seg.temperature or 0.0),
                )
            )
            if progress and duration > 0:
                progress(min(1.0, seg.end / duration))
        return segments, DecodeInfo(info.language, float(info.language_probability))

    def detect_language(self, audio: np.ndarray) -> DecodeInfo:
        language, probability, every = self.model.detect_language(audio=audio)
        return DecodeInfo(language, float(probability), {code: float(p) for code, p in every})

    def text_log_probs(
        self, audio: np.ndarray, texts: Sequence[str], language: str, hotwords: str | None = None
    ) -> list[float]:
        import math

        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        model = self.model
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
        features = model.feature_extractor(audio)
        encoded = model.encode(pad_or_trim(features))
        prompt = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords)
        frames = features.shape[-1] - 1
        scores = []
        for text in texts:  # one alignment per text: the encoder output is a batch of one
            (result,) = model.model.align(encoded, prompt, [tokenizer.encode(" " + text.strip())], frames)
            scores.append(sum(math.log(max(p, 1e-12)) for p in result.text_token_probs))
        return scores

    def token_count(self, word: str) -> int | None:
        tokenizer = getattr(self.model, "hf_tokenizer", None)
        return None if tokenizer is None else len(tokenizer.encode(word, add_special_tokens=False).ids)
