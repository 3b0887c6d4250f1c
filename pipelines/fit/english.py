"""One sentence, analysed once for fitting: its spoken cuts, its facts, its deletion plans.

The sentence fitter asks this module three things about an original: the text with the
fillers of speech cut (``spoken``), the candidates that drop optional subtrees of a shorter
form of it (``deletions``), and, for any candidate, what it loses (``check``) and whether it
still parses as a sentence (``fluency``). With a spaCy parser (English) all of it uses the
parse; without one (other languages, or no parser loaded) the spoken cuts and deletions are
skipped and the guard checks numbers, negations and content words on plain words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.fit.estimates import normalize_language
from pipelines.fit.guard import Facts, Guard
from pipelines.fit.rules import rule_candidates
from pipelines.fit.spoken import spoken_cuts
from pipelines.fit.syntax import optional_cuts, plan


@dataclass
class Analysis:
    """The fitter's view of one original sentence.

    Attributes:
        original: the sentence as given (whitespace normalised).
        spoken: the sentence with fillers, hedges and signposts of speech cut (== original when
            there are none, or for other languages).
        facts: what every candidate must keep (``pipelines.fit.guard.Facts``).
        guard: the checks and their thresholds.
        nlp: the spaCy pipeline, or None.
    """

    original: str
    spoken: str
    facts: Facts
    guard: Guard
    nlp: Any | None = None
    _fluency: dict[str, str] = field(default_factory=dict)

    def check(self, text: str) -> str:
        """Why ``text`` loses a fact of the original ("" when it keeps them all)."""
        return self.guard.check(self.facts, text)

    def deletions(self, source: str, *, max_steps: int = 8) -> list[tuple[str, str]]:
        """``(method, text)`` candidates that drop optional subtrees of ``source``, one more at a
        time, cheapest meaning per character first. Empty without a parser."""
        if self.nlp is None:
            return []
        doc = self.nlp(source)
        steps = plan(source, optional_cuts(doc), max_steps=max_steps)
        return [("parse:" + "+".join(c.kind for c in cuts), text) for text, _, cuts in steps]

    def fluency(self, texts: Iterable[str]) -> dict[str, str]:
        """Parse the texts not parsed yet (one batch); each text's fluency note ("" when fine)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._fluency]
        if self.nlp is not None and todo:
            for text, doc in zip(todo, self.nlp.pipe(todo), strict=True):
                self._fluency[text] = self.guard.fluency(self.facts, doc)
        return {t: self._fluency.get(t, "") for t in texts}


def analyse(original: str, language: str, nlp: Any | None, guard: Guard) -> Analysis:
    """Analyse ``original``: spoken cuts and facts (with the parser when given and English)."""
    english = normalize_language(language) == "en"
    spoken = spoken_cuts(original) if english else original
    if english and nlp is not None:
        texts: Sequence[str] = [original] if spoken == original else [original, spoken]
        docs = list(nlp.pipe(texts))
        facts = guard.facts(original, docs[0], docs[-1])
        return Analysis(original, spoken, facts, guard, nlp)
    # Without a parse, the content words that count are those the rules keep (fillers and hedges go).
    rules = rule_candidates(spoken, language)
    return Analysis(original, spoken, guard.facts(original, essential_text=rules[-1][1] if rules else spoken), guard, None)
