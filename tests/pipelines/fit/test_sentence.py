"""The fitter: candidates, ranking, meaning floor, never-empty, fits=False.

Unit tests use a bag-of-words embedder and a scripted LM; the slow ones load MiniLM and SmolLM2.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from pipelines.exceptions import OptionsError, UnsupportedLanguageError
from pipelines.fit.candidates import Candidate, lossless, rank, word_change
from pipelines.fit.estimates import speaking_estimate
from pipelines.fit.lm_prompt import clean_output
from pipelines.fit.sentence import FitOptions, FitResult, SentenceFitter
from pipelines.reading import reading_chars

STOPWORDS = set(
    "a an the so basically what we are going to do is be it its it's that this of in on at to and or "
    "you your we'll let's how today now just really actually".split()
)


class BagOfWords:
    """Cosine similarity of content-word counts: dropping content lowers it, as MiniLM's does."""

    def __init__(self) -> None:
        self.calls = 0

    def similarity(self, a: str, b: Sequence[str]) -> np.ndarray:
        self.calls += 1

        def vec(t: str) -> Counter[str]:
            return Counter(w for w in re.findall(r"[a-z0-9']+", t.lower()) if w not in STOPWORDS)

        va = vec(a)
        out = []
        for t in b:
            vb = vec(t)
            dot = sum(va[w] * vb[w] for w in va)
            norm = math.sqrt(sum(v * v for v in va.values())) * math.sqrt(sum(v * v for v in vb.values()))
            out.append(dot / norm if norm else 0.0)
        return np.array(out, dtype=np.float32)


class ScriptedLM:
    """Returns fixed proposals and records what it was asked."""

    def __init__(self, proposals: list[str], fail: bool = False) -> None:
        self.proposals = proposals
        self.fail = fail
        self.calls: list[tuple[list[str], float, int]] = []
        self.deadlines: list[float | None] = []
        self.stops: list[threading.Event | None] = []

    def unused(self, result: FitResult) -> bool:
        """Whether every call was stopped by the fitter (it started early, beside the rule
        search, which found an answer) and none of its proposals was considered."""
        return all(stop is not None and stop.is_set() for stop in self.stops) and not any(
            c.method.startswith("lm") for c in result.candidates)

    def shorten(
        self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
        attempt: int = 0, deadline: float | None = None, stop: threading.Event | None = None,
    ) -> list[str]:
        self.calls.append((list(sources), target_ratio, sampled))
        self.deadlines.append(deadline)
        self.stops.append(stop)
        if self.fail:
            raise RuntimeError("model crashed")
        return list(self.proposals)


FILLED = "So basically, what we are going to do today is take a look at how the settings page works."
PLAIN = "The compiler reads every source file and translates each statement into machine instructions."


def chars(text: str) -> int:
    return reading_chars(text)


def test_text_that_fits_is_returned_unchanged_without_models() -> None:
    embedder, lm = BagOfWords(), ScriptedLM(["x"])
    result = SentenceFitter(embedder, lm).fit("  Save   your work. ", FitOptions(max_seconds=5.0))
    assert result.text == "Save your work." and result.fits and not result.changed
    assert result.method == "original" and result.overrun == 0.0
    assert lm.calls == [] and embedder.calls == 0


def test_rules_that_fit_make_the_lm_unnecessary() -> None:
    lm = ScriptedLM(["Settings page."])
    limit = chars(FILLED) - 25
    result = SentenceFitter(BagOfWords(), lm).fit(FILLED, FitOptions(max_chars=limit))
    assert result.fits and result.method.startswith(("rules:", "spoken"))  # spoken cuts are rules of speech
    assert chars(result.text) <= limit < chars(FILLED)
    assert "look at how the settings page works" in result.text
    assert lm.calls == []


def test_lm_candidate_chosen_when_rules_are_not_enough() -> None:
    short = "The compiler translates each source statement into machine instructions."
    lm = ScriptedLM([short, ""])
    limit = chars(short) + 2
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=limit))
    assert lm.calls and lm.calls[0][0] == [PLAIN]
    assert 0 < lm.calls[0][1] < 1  # asked for a shorter text
    assert result.fits and result.text == short and result.method == "lm"
    assert result.similarity >= 0.8
    assert all(c.text.strip() for c in result.candidates)  # the empty proposal is never a candidate


def test_meaning_floor_is_honoured() -> None:
    lm = ScriptedLM(["Compilers exist."])  # fits, but keeps little of the meaning
    limit = chars("Compilers exist.") + 1
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=limit, similarity_floor=0.8))
    below = [c for c in result.candidates if c.text == "Compilers exist."]
    assert below and below[0].fits and not below[0].acceptable
    assert result.text != "Compilers exist."
    assert not result.fits and result.overrun > 0
    assert result.similarity >= 0.8
    assert result.overrun == pytest.approx(result.estimate - result.limit)


def test_when_nothing_fits_the_closest_acceptable_candidate_is_returned() -> None:
    closer = "The compiler reads every source file and translates each statement."
    lm = ScriptedLM([closer])
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=20, lm="always"))
    assert not result.fits
    # When nothing fits, the closest candidate that drops nothing (original, spoken cuts, rules):
    # the LM's closer proposal would lose words without fitting.
    acceptable = [c for c in result.candidates if c.acceptable]
    assert result.overrun == min(c.overrun for c in acceptable if lossless(c.method))
    assert any(c.text == closer and c.overrun < result.overrun for c in acceptable)
    assert result.text and result.similarity >= 0.8
    assert result.candidates[0].text == result.text


def test_lm_failure_still_gives_an_answer() -> None:
    result = SentenceFitter(BagOfWords(), ScriptedLM([], fail=True)).fit(PLAIN, FitOptions(prune_steps=0, max_chars=30))
    assert result.text and not result.fits


def test_ranking_prefers_similarity_then_least_change() -> None:
    def cand(text: str, fits: bool, sim: float, change: float, overrun: float = 0.0) -> Candidate:
        return Candidate(text, "x", 1.0, fits, overrun, sim, change, sim >= 0.8)

    a = cand("a", True, 0.90, 0.5)
    b = cand("b", True, 0.95, 0.6)
    c = cand("c", True, 0.951, 0.1)  # same similarity to 0.01 as b, less change
    d = cand("d", False, 0.99, 0.0, overrun=0.1)
    e = cand("e", True, 0.5, 0.9)  # below the floor
    f = cand("f", False, 0.99, 0.0, overrun=0.05)
    assert [x.text for x in rank([a, b, c, d, e, f])] == ["c", "b", "a", "f", "d", "e"]


def test_lm_modes_and_languages() -> None:
    limit = chars(FILLED) - 25
    lm = ScriptedLM(["Let's see how the settings page works."])
    SentenceFitter(BagOfWords(), lm).fit(FILLED, FitOptions(max_chars=limit, lm="always"))
    assert len(lm.calls) == 1
    lm = ScriptedLM(["x"])
    SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=30, lm="never"))
    assert lm.calls == []
    lm = ScriptedLM(["x"])
    SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=30, language="de"))
    assert lm.calls == []  # SmolLM2 is English-centric: not used for German under "auto"


def test_speaking_mode_uses_syllables_and_a_calibrated_rate() -> None:
    est = speaking_estimate(FILLED, "en").seconds
    result = SentenceFitter(BagOfWords()).fit(FILLED, FitOptions(mode="speaking", max_seconds=est * 0.8))
    assert result.unit == "s" and result.original_estimate == pytest.approx(est)
    assert result.fits and result.estimate <= est * 0.8
    slow = SentenceFitter(BagOfWords()).fit(
        FILLED, FitOptions(mode="speaking", max_seconds=est * 0.8, syllables_per_second=3.0)
    )
    assert slow.original_estimate == pytest.approx(est * 6.19 / 3.0)


def test_speech_rules_do_not_use_abbreviations() -> None:
    text = "There are many ways to do this, for example with a loop, and so on and so forth."
    limit = speaking_estimate(text, "en").seconds * 0.95
    result = SentenceFitter(BagOfWords()).fit(text, FitOptions(mode="speaking", max_seconds=limit))
    assert all("e.g." not in c.text and "etc." not in c.text for c in result.candidates)


def test_reading_mode_checks_lines() -> None:
    text = " ".join(["word"] * 24)  # 119 chars: 3 lines of 42 but only 6 s of reading at 20 CPS
    # (the meaning guard off: its spoken cuts would take "word word" for a stutter)
    result = SentenceFitter(BagOfWords()).fit(text, FitOptions(max_seconds=10.0, lm="never", check_lines=True,
                                                               meaning_guard=False))
    assert result.original_estimate < 10.0 and not result.fits
    assert result.overrun == pytest.approx((119 - 84) / 20.0)  # chars beyond 2 x 42, at 20 CPS
    assert SentenceFitter(BagOfWords()).fit(text, FitOptions(max_seconds=10.0)).fits  # a bare slot


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"max_seconds": 2.0, "max_chars": 10}, {"max_seconds": 0.0}, {"max_chars": -1},
     {"max_seconds": 2.0, "mode": "singing"}, {"max_seconds": 2.0, "similarity_floor": 1.5},
     {"max_seconds": 2.0, "lm": "maybe"}],
)
def test_options_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(OptionsError):
        FitOptions(**kwargs)  # type: ignore[arg-type]


def test_unknown_language_needs_a_rate_and_unknown_profile_is_named() -> None:
    with pytest.raises(UnsupportedLanguageError):
        FitOptions(mode="speaking", language="fi", max_seconds=2.0)
    FitOptions(mode="speaking", language="fi", max_seconds=2.0, syllables_per_second=6.0)
    with pytest.raises(OptionsError, match="netflix-en"):
        SentenceFitter(BagOfWords()).fit(PLAIN, FitOptions(max_seconds=1.0, profile="nope"))


def test_empty_text_is_an_error() -> None:
    with pytest.raises(OptionsError, match="empty"):
        SentenceFitter(BagOfWords()).fit("   ", FitOptions(max_seconds=1.0))


def test_word_change() -> None:
    assert word_change("a b c d", "a b c d") == 0.0
    assert word_change("a b c d", "w x y z") == 1.0
    assert 0 < word_change("a b c d", "a b d") < 0.5


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Save your work first.<|im_end|>", ""),
        ('"Save your work first."', "Save your work first."),
        ("Here is the shorter sentence: Save your work.", "Save your work."),
        ("Save your work.\nI hope this helps!", "Save your work."),
        ("   ", ""),
    ],
)
def test_clean_lm_output(raw: str, clean: str) -> None:
    assert clean_output(raw) == clean


# --- integration: real MiniLM and SmolLM2 --------------------------------------------------

LECTURE = [
    "So basically, what we are going to do in this lesson is take a look at how you can actually "
    "configure the settings of your account in order to make sure that it is secure.",
    "It is really important to note that the vast majority of the errors that you will see at this "
    "point in time are caused by a missing semicolon at the end of the line.",
    "Now, once you have installed the package, you are going to want to open up the terminal "
    "window and type in the command that is shown on the screen right here.",
    "The compiler reads every source file in the project and translates each statement into "
    "machine instructions that the processor is able to execute directly.",
]


@pytest.fixture(scope="module")
def fitter(require_model, model_dir: Path) -> SentenceFitter:  # type: ignore[no-untyped-def]
    require_model("minilm-l6-v2")
    require_model("smollm2-135m-gguf")
    return SentenceFitter.load(model_dir)


@pytest.mark.slow
def test_real_models_fit_lecture_sentences(fitter: SentenceFitter) -> None:
    fitted = 0
    for text in LECTURE:
        est = fitter.fit(text, FitOptions(max_seconds=60.0)).original_estimate
        result = fitter.fit(text, FitOptions(max_seconds=est * 0.8))
        assert result.text.strip()
        assert result.similarity >= 0.8
        if result.fits:
            fitted += 1
            assert result.estimate <= est * 0.8
        else:
            assert result.overrun > 0
        scores = fitter.embedder.similarity(text, [result.text])
        assert float(scores[0]) == pytest.approx(result.similarity, abs=1e-4)
    assert fitted >= 3


@pytest.mark.slow
def test_real_lm_proposes_shorter_sentences(fitter: SentenceFitter) -> None:
    from pipelines.fit.lm_llamacpp import LlamaCppLM

    assert isinstance(fitter.lm, LlamaCppLM)  # the runtime the service uses
    text = LECTURE[3]
    # As the fitter asks: sampled proposals only (greedy decoding mostly copies the source).
    proposals = fitter.lm.shorten([text], target_ratio=0.7, sampled=4, greedy=False)
    assert proposals, "SmolLM2 gave no usable proposal"
    assert all(0 < len(p) < len(text) for p in proposals)
    sims = fitter.embedder.similarity(text, proposals)
    assert float(sims.max()) > 0.6


def test_a_faithful_trim_skips_the_lm_but_a_lossy_one_does_not() -> None:
    aside = "The compiler (a program) checks every statement and every expression."
    kept = "The compiler checks every statement and every expression."
    lm = ScriptedLM(["x y z"])
    result = SentenceFitter(BagOfWords(), lm).fit(aside, FitOptions(max_chars=len(kept) + 1))
    assert result.text == kept and result.method == "trim" and result.similarity >= 0.9
    assert lm.unused(result)

    lm = ScriptedLM(["x y z"])
    result = SentenceFitter(BagOfWords(), lm).fit(
        aside, FitOptions(max_chars=len(kept) + 1, early_accept_similarity=0.99, meaning_guard=False))
    assert len(lm.calls) == 1 and result.text == kept  # the LM ran; its proposal lost on meaning

    # With the meaning guard the trim has kept every fact, so its verdict stands in for the similarity.
    lm = ScriptedLM(["x y z"])
    result = SentenceFitter(BagOfWords(), lm).fit(
        aside, FitOptions(max_chars=len(kept) + 1, early_accept_similarity=0.99))
    assert result.text == kept and lm.unused(result)


class SteppingLM(ScriptedLM):
    """Returns the next scripted answer on each call (a model that takes small steps)."""

    def __init__(self, answers: list[list[str]]) -> None:
        super().__init__([])
        self.answers = answers
        self.attempts: list[int] = []

    def shorten(
        self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
        attempt: int = 0, deadline: float | None = None, stop: threading.Event | None = None,
    ) -> list[str]:
        self.calls.append((list(sources), target_ratio, sampled))
        self.attempts.append(attempt)
        return self.answers[len(self.calls) - 1] if len(self.calls) <= len(self.answers) else []


def test_second_lm_round_shortens_the_closest_proposal_again() -> None:
    step1 = "The compiler reads every source file and translates each statement to machine code."
    step2 = "The compiler translates each source statement into machine instructions."
    lm = SteppingLM([[step1], [step2]])
    limit = chars(step2) + 1
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=limit))
    assert [c[0] for c in lm.calls] == [[PLAIN], [step1]]
    assert result.fits and result.text == step2

    lm = SteppingLM([[step1], [step2]])
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=limit, lm_rounds=1))
    assert len(lm.calls) == 1 and not result.fits


def test_a_changed_number_is_not_acceptable() -> None:
    text = "Every complaint must be recorded in the system within 24 hours of the call."
    wrong = "Every complaint must be recorded in the system within 48 hours."
    right = "Every complaint must be recorded in the system within 24 hours."
    lm = ScriptedLM([wrong, right])
    result = SentenceFitter(BagOfWords(), lm).fit(text, FitOptions(max_chars=len(right) + 1, lm="always", prune_steps=0))
    assert result.text == right
    rejected = next(c for c in result.candidates if c.text == wrong)
    assert not rejected.acceptable and rejected.note.startswith("drops or changes a number")


def test_lm_samples_afresh_when_its_first_call_gives_nothing_usable() -> None:
    short = "The compiler translates each source statement into machine instructions."
    lm = SteppingLM([[], [short]])
    limit = chars(short) + 1
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=limit))
    assert [c[0] for c in lm.calls] == [[PLAIN], [PLAIN]]
    # The same source again: the attempt number tells a seeded runtime to sample anew.
    assert lm.attempts == [0, 1]
    assert result.fits and result.text == short

    lm = SteppingLM([[], [short]])
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=limit, lm_rounds=1))
    assert len(lm.calls) == 1 and not result.fits


def test_lm_is_called_once_when_its_first_samples_fit() -> None:
    short = "The compiler translates each source statement into machine instructions."
    lm = SteppingLM([[short], [short[:-1] + " now."]])
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(prune_steps=0, max_chars=chars(short) + 1, lm_candidates=4))
    assert len(lm.calls) == 1 and lm.calls[0][2] == 4  # asked for the configured samples, once
    assert result.fits and result.text == short


def test_the_deletion_search_drops_phrases_until_the_text_fits_and_skips_the_lm() -> None:
    text = "The engine slowly warms the cabin air for every passenger and keeps it warm whenever you drive."
    lm = ScriptedLM(["x y z"])
    para = SentenceFitter(BagOfWords(), lm)
    result = para.fit(text, FitOptions(max_chars=70, early_accept_similarity=0.8))
    assert result.fits and result.method == "prune" and len(result.text) <= 70
    assert result.similarity >= 0.8 and lm.unused(result)
    # Each step drops one phrase from the last: the search took two (an adverb, a clause).
    assert "slowly" not in result.text and "whenever" not in result.text

    lm = ScriptedLM(["x y z"])
    result = SentenceFitter(BagOfWords(), lm).fit(
        text, FitOptions(max_chars=70, early_accept_similarity=0.8, prune_steps=0))
    assert not any(c.method == "prune" for c in result.candidates) and len(lm.calls) >= 1


def test_the_deletion_search_never_goes_below_the_early_accept_similarity() -> None:
    text = "The engine slowly warms the cabin air for every passenger and keeps it warm whenever you drive."
    lm = ScriptedLM(["x y z"])
    result = SentenceFitter(BagOfWords(), lm).fit(text, FitOptions(max_chars=40, early_accept_similarity=0.8))
    assert any(c.method == "prune" for c in result.candidates)  # the search ran
    assert result.method != "prune" or result.similarity >= 0.8
    assert len(lm.calls) >= 1  # nothing fitted well enough, so the LM was asked


def test_the_lm_gets_the_budgets_deadline_and_is_skipped_when_it_cannot_finish_in_time() -> None:
    lm = ScriptedLM(["The compiler reads every source file and translates each statement."])
    fitter = SentenceFitter(BagOfWords(), lm)
    before = time.monotonic()
    result = fitter.fit(PLAIN, FitOptions(max_chars=70, lm="always", time_budget_s=0.5))
    assert lm.calls and all(d is not None and before < d <= before + 0.5 + 0.01 for d in lm.deadlines)
    assert result.note == "" and result.fits

    # A machine so loaded that an LM call takes 5 s: with 0.5 s the LM is not started, and
    # the result says why; without a budget it runs.
    lm = ScriptedLM(["The compiler reads every source file and translates each statement."])
    fitter = SentenceFitter(BagOfWords(), lm)
    assert fitter.lm_search is not None
    fitter.lm_search.seconds = 5.0
    result = fitter.fit(PLAIN, FitOptions(max_chars=70, lm="always", time_budget_s=0.5))
    assert lm.calls == [] and "too little left for the LM" in result.note
    result = fitter.fit(PLAIN, FitOptions(max_chars=70, lm="always", time_budget_s=None))
    assert len(lm.calls) == 1 and lm.deadlines == [None] and result.note == ""


def test_a_budget_that_ends_before_the_deletion_search_says_so() -> None:
    """Only an LM that was not started said why a result overran; a budget spent before the
    deletion search left the note empty."""
    result = SentenceFitter(BagOfWords()).fit(PLAIN, FitOptions(max_chars=40, time_budget_s=1e-9))
    assert not result.fits and result.note == "time budget of 1e-09 s ended before the deletion search"
    assert not any(c.method == "prune" for c in result.candidates)
    result = SentenceFitter(BagOfWords()).fit(PLAIN, FitOptions(max_chars=40, time_budget_s=None))
    assert any(c.method == "prune" for c in result.candidates) and result.note == ""


def test_the_meaning_guard_lists_its_rejections_with_the_reason() -> None:
    text = "The server does not restart when 3 workers fail at night."
    right = "The server does not restart when 3 workers fail."
    lm = ScriptedLM(["The server restarts when 3 workers fail.", "The server does not restart when workers fail.",
                     "The server does not restart when 3 busy workers fail quickly.", right])
    result = SentenceFitter(BagOfWords(), lm).fit(
        text, FitOptions(max_chars=len(right), lm="always", prune_steps=0, time_budget_s=None))
    notes = {c.text: c.note for c in result.candidates}
    assert notes["The server restarts when 3 workers fail."] == "drops a negation"
    assert notes["The server does not restart when workers fail."].startswith("drops or changes a number")
    assert notes["The server does not restart when 3 busy workers fail quickly."].startswith("adds words the original does not say")
    assert result.fits and result.text == right


class Constant:
    """An embedder that gives every candidate the same similarity, and counts its calls."""

    def __init__(self, value: float) -> None:
        self.value, self.calls = value, 0

    def similarity(self, a: str, b: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.full(len(b), self.value, dtype=np.float32)


def test_texts_not_in_english_are_judged_by_the_multilingual_embedder_with_its_own_floor() -> None:
    text = "Das ist ja im Grunde genommen ganz einfach zu verstehen, wenn man es sieht."
    english, e5 = Constant(0.1), Constant(0.96)
    result = SentenceFitter(english, multilingual=e5).fit(text, FitOptions(language="de", max_chars=60))
    assert result.fits and result.similarity == pytest.approx(0.96) and english.calls == 0 and e5.calls
    # Below e5's floor (0.95 by default) nothing shorter is acceptable.
    result = SentenceFitter(english, multilingual=Constant(0.9)).fit(text, FitOptions(language="de", max_chars=60))
    assert not result.fits and result.text == text
    # English stays with MiniLM.
    SentenceFitter(english, multilingual=e5).fit(PLAIN, FitOptions(max_chars=60, lm="never"))
    assert english.calls and e5.calls == 1


def test_an_early_lm_call_is_stopped_when_the_rules_find_an_answer() -> None:
    class Blocking(ScriptedLM):
        def shorten(self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
                    attempt: int = 0, deadline: float | None = None,
                    stop: threading.Event | None = None) -> list[str]:
            super().shorten(sources, target_ratio, sampled, greedy, attempt, deadline, stop)
            assert stop is not None and stop.wait(5.0)  # runs until the fitter stops it
            return list(self.proposals)

    aside = "The compiler (a program) checks every statement and every expression."
    lm = Blocking(["x y z"])
    started = time.monotonic()
    fitter = SentenceFitter(BagOfWords(), lm)
    result = fitter.fit(aside, FitOptions(max_chars=60, time_budget_s=None, lm_early_start=True))
    assert result.method == "trim" and lm.calls and lm.unused(result)
    assert time.monotonic() - started < 2.0


def test_a_call_that_runs_past_the_deadline_is_not_waited_for() -> None:
    class Stuck(ScriptedLM):
        def shorten(self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
                    attempt: int = 0, deadline: float | None = None,
                    stop: threading.Event | None = None) -> list[str]:
            super().shorten(sources, target_ratio, sampled, greedy, attempt, deadline, stop)
            assert stop is not None and stop.wait(5.0)  # one long step (a prompt read in on a loaded machine)
            return list(self.proposals)

    lm = Stuck(["The compiler reads every source file."])
    started = time.monotonic()
    result = SentenceFitter(BagOfWords(), lm).fit(PLAIN, FitOptions(max_chars=40, lm="always", time_budget_s=0.3))
    assert time.monotonic() - started < 1.0 and lm.stops[0] is not None and lm.stops[0].is_set()
    assert not any(c.method.startswith("lm") for c in result.candidates)
    # The call that ran late is remembered: with as little time left, the next text does not start one.
    fitter = SentenceFitter(BagOfWords(), lm)
    assert fitter.lm_search is not None
    deadline = time.monotonic() + 2.0
    while fitter.lm_search.seconds == 0.0 and time.monotonic() < deadline:
        fitter.fit(PLAIN, FitOptions(max_chars=40, lm="always", time_budget_s=0.3))
        time.sleep(0.05)
    assert fitter.lm_search.seconds >= 0.3
