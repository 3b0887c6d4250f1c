"""One sentence, analysed once for fitting: its spoken cuts, its facts, its deletion plans.

The sentence fitter asks this module three things about an original: the text with the
fillers of speech cut (``spoken``), the candidates that drop optional subtrees of a shorter
form of it (``deletions``), and, for any candidate, what it loses (``check``) and whether it
still parses as a sentence (``fluency``). With a spaCy parser (English) all of it uses the
parse; without one (other languages, or no parser loaded) the spoken cuts and deletions are
skipped and the guard checks numbers, negations and content words on plain words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.fit.combine import cheapest_fits
from pipelines.fit.estimates import normalize_language
from pipelines.fit.guard import Facts, Guard
from pipelines.fit.rules import rule_candidates
from pipelines.fit.spoken import spoken_cuts
from pipelines.fit.syntax import Cut, optional_cuts, plan


@dataclass
class Analysis:
    """The fitter's view of one original sentence.

    Attributes:
        original: the sentence as given (whitespace normalised).
        spoken: the sentence with fillers, hedges and signposts of speech cut (== original when
            there are none, or for other languages).
        rules: ``rules.rule_candidates`` of ``spoken``: ``[(level, text), ...]``.
        essential: the last of those (or ``spoken``): what the sentence says with nothing
            dropped but fillers and verbose phrasing; its content words and main clause are what
            a candidate must keep, so a rule's rephrasing ("make sure" -> "ensure") is no loss.
        facts: what every candidate must keep (``pipelines.fit.guard.Facts``).
        guard: the checks and their thresholds.
        nlp: the spaCy pipeline, or None.
    """

    original: str
    spoken: str
    facts: Facts
    guard: Guard
    rules: list[tuple[str, str]] = field(default_factory=list)
    essential: str = ""
    nlp: Any | None = None
    _docs: dict[str, Any] = field(default_factory=dict)
    _fluency: dict[str, str] = field(default_factory=dict)
    _plans: dict[str, list[Cut]] = field(default_factory=dict)

    def check(self, text: str) -> str:
        """Why ``text`` loses a fact of the original ("" when it keeps them all)."""
        return self.guard.check(self.facts, text)

    def deletions(self, source: str, *, max_steps: int = 8, without: Iterable[Cut] = (),
                  fits: Callable[[str], bool] | None = None, need: int = 0) -> list[tuple[str, str]]:
        """``(method, text)`` candidates that drop optional subtrees of ``source``, one more at a
        time, cheapest meaning per character first (never the cuts in ``without``); with
        ``fits``, also the cheapest sets of cuts that fit and keep the facts
        (``combine.cheapest_fits``; ``need``: characters to save, about). Empty without a parser."""
        if self.nlp is None:
            return []
        doc = self._docs.get(source) or self.nlp(source)
        self._docs[source] = doc
        skip = set(without)
        cuts = [c for c in optional_cuts(doc) if c not in skip]
        steps = plan(source, cuts, max_steps=max_steps)
        if fits is not None:
            steps += cheapest_fits(source, cuts, fits=fits, allowed=lambda t: not self.check(t), need=need)
        for text, _, chosen in steps:
            self._plans.setdefault(text, chosen)
        return [("parse:" + "+".join(c.kind for c in chosen), text) for text, _, chosen in steps]

    def culprit(self, text: str) -> Cut | None:
        """The last cut of the plan that gave ``text`` (the one that made it lose too much)."""
        cuts = self._plans.get(text)
        return cuts[-1] if cuts else None

    def fluency(self, texts: Iterable[str]) -> dict[str, str]:
        """Parse the texts not parsed yet (one batch); each text's fluency note ("" when fine)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._fluency]
        if self.nlp is not None and todo:
            for text, doc in zip(todo, self.nlp.pipe(todo), strict=True):
                self._fluency[text] = self.guard.fluency(self.facts, doc)
        return {t: self._fluency.get(t, "") for t in texts}


def analyse(original: str, language: str, nlp: Any | None, guard: Guard, *, reading: bool = True) -> Analysis:
    """Analyse ``original``: spoken cuts, rules and facts (with the parser when given and
    English: the original and its essential form are parsed in one batch)."""
    english = normalize_language(language) == "en"
    spoken = spoken_cuts(original) if english else original
    rules = rule_candidates(spoken, language, reading=reading)
    essential = rules[-1][1] if rules else spoken
    if english and nlp is not None:
        texts: Sequence[str] = list(dict.fromkeys([original, essential]))
        docs = dict(zip(texts, nlp.pipe(texts), strict=True))
        facts = guard.facts(original, docs[original], docs[essential])
        return Analysis(original, spoken, facts, guard, rules, essential, nlp, docs)
    return Analysis(original, spoken, guard.facts(original, essential_text=essential), guard, rules, essential)
