"""The meaning guard: what a shortened sentence must keep before it may be offered as fitting.

MiniLM's cosine similarity forgives a dropped number, a lost "not" or a verbless fragment; this
guard does not. From the original (its spaCy parse in English; plain words elsewhere) it takes:

- the numbers it states (as digits: "twenty-five" is 25), which must all be kept;
- numbers and names are compared in one spelling (``rules.fact_form``): "20 percent", "20 per
  cent", "20 %" and "20%" (and "Prozent", "pour cent", "por ciento") are one fact, so the
  rules' "20%" keeps an entity "about 20 percent", while "20%" alone drops its "about";
- its negations ("not", "n't", "never", "no", "without"...), which must not become fewer;
- its named entities and technical terms (acronyms, identifiers, words with digits), each kept;
- its content words (nouns, verbs, adjectives, adverbs that are not hedges), of which at least
  ``content_floor`` must be kept; words only rules rephrase ("in order to", "a number of") and the
  fillers ``spoken_cuts`` removes do not count;
- its main verb and the heads of its subject and object, which must be kept;
- its vocabulary: a candidate may bring at most ``max_new_words`` content words the original
  does not use (in English; rules' short forms such as "because" or "many" do not count), which
  stops a language model's inventions ("in this new context") at the door.

``Guard.fluency`` re-parses a candidate and says why it is not a sentence, when the original is.
A candidate the guard rejects is listed with the reason in the result's candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.fit.estimates import normalize_language
from pipelines.fit.rules import fact_form, numbers_in
from pipelines.fit.syntax import (
    MEASURE_ENTITIES,
    NAME_ENTITIES,
    NEGATIONS,
    is_term,
    sentence_problem,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc

_WORD = re.compile(r"[\w'’]+(?:[.-][\w'’]+)*")
# Words that phrase rules rewrite or that carry no fact in speech: not counted as content.
_NOT_CONTENT = frozenset(
    "order fact number amount majority lot lots ability capacity purpose regard respect reference "
    "relation time point moment way manner case event process basis need thing things stuff kind "
    "sort bit little really actually basically just very pretty quite simply go going gonna let "
    "get got okay ok yeah well like know mean say said think guess see look looking want "
    "turns turn turned out discussed lecture video example instance course fact sure right "
    "here now then also even still again".split()
)
# Short forms the phrase rules write in place of longer ones: not inventions.
_RULE_WORDS = frozenset(
    "because although many most some soon can before after when daily weekly regularly every first "
    "whether until always near decide decided consider use uses used look looks conclude will how "
    "besides also like while ensure with likewise must finally but best more often needed called "
    "now today maybe about for all both outside these this that those what which much".split()
)
_STOP = frozenset(
    "the and that this with from have has had were was are been being into onto than then them they "
    "their there these those what when where which while will would could should about over under "
    "your you our ours just very also only even such some more most much many each every other".split()
)
_CORE_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "attr", "acomp", "oprd"})
_LIGHT_VERBS = frozenset("be have do think know mean guess say see turn let go get want".split())
_QUANTITY_NOUNS = frozenset("number amount lot lots majority couple bunch kind sort type bit piece".split())


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` ("n't" kept on its verb)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


# Negations of the other languages with rules (plain words: no parser there).
_OTHER_NEGATIONS = {
    "de": frozenset("nicht nie niemals kein keine keinen keinem keiner keines nichts niemand nirgends "
                    "weder ohne".split()),
    "fr": frozenset("ne n' pas jamais aucun aucune rien personne ni sans nullement guère".split()),
    "es": frozenset("no nunca jamás ningún ninguno ninguna nada nadie ni sin tampoco".split()),
    "it": frozenset("non mai nessuno nessuna niente nulla né senza neanche nemmeno".split()),
}


def negation_count(text: str, language: str = "en") -> int:
    """How many negations ``text`` states (an interjection "No," does not count)."""
    lang = normalize_language(language)
    if lang in _OTHER_NEGATIONS:
        # French "ne ... pas" counts twice, in the original and in a candidate alike: a cut that
        # drops either half is caught. "n'est" is read as "n'" + "est".
        ws = [w.replace("’", "'") for w in re.findall(r"[\w]+'?|'", text.lower())]
        return sum(1 for w in ws if w in _OTHER_NEGATIONS[lang])
    text = re.sub(r"\bwhether or not\b", "whether", text, flags=re.IGNORECASE)  # no negation in it
    ws = words(re.sub(r"^\s*no\s*[,.!]", "", text, flags=re.IGNORECASE))
    return sum(1 for w in ws if w in NEGATIONS or w.endswith("n't"))


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _kept(word: str, present: set[str], stems: set[str]) -> bool:
    return word in present or _stem(word) in stems


@dataclass(frozen=True)
class Facts:
    """What a candidate must keep of one original sentence."""

    numbers: frozenset[str]
    negations: int
    names: tuple[str, ...]
    content: tuple[str, ...]
    core: tuple[str, ...]
    problem: str
    vocabulary: frozenset[str] = frozenset()
    last_word: str = ""


@dataclass(frozen=True)
class Guard:
    """Judges candidates against the facts of their original.

    Attributes:
        content_floor: least share of the original's content words a candidate keeps.
        language: the text's language (numbers are read in words too in English).
    """

    content_floor: float = 0.6
    language: str = "en"
    max_new_words: int = 1

    def facts(self, original: str, doc: Doc | None = None, essential: Doc | None = None,
              essential_text: str | None = None) -> Facts:
        """The facts of ``original``; ``doc`` is its parse, ``essential`` the parse of the text
        with fillers cut (``spoken_cuts``), whose content words are the ones that count. Without
        a parse, ``essential_text`` (fillers and hedges cut by the rules) gives the content words."""
        numbers = frozenset(numbers_in(original, self.language))
        names: list[str] = []
        content: list[str] = []
        core: list[str] = []
        problem = ""
        if doc is not None:
            for ent in doc.ents:
                if ent.label_ in NAME_ENTITIES or (ent.label_ in MEASURE_ENTITIES and any(c.isdigit() for c in ent.text)):
                    names.append(ent.text)
            names += [t.text for t in doc if is_term(t) and not t.like_num]
            problem = sentence_problem(doc)
        base = essential if essential is not None else doc
        if base is not None:
            for tok in base:
                lower = tok.lower_
                if (tok.pos_ in {"NOUN", "PROPN", "VERB", "ADJ", "ADV"} and not tok.is_stop and lower not in _NOT_CONTENT
                        and tok.is_alpha and len(lower) > 2):
                    content.append(lower)
            for sent in base.sents:
                root = sent.root
                if root.lemma_ not in _LIGHT_VERBS and root.pos_ == "VERB" and root.is_alpha:
                    core.append(root.lower_)
                for child in root.children:
                    if child.dep_ in _CORE_DEPS and child.pos_ in {"NOUN", "PROPN", "ADJ"}:
                        head = child
                        if child.lemma_ in _QUANTITY_NOUNS:  # "a number of students": the students count
                            head = next((g for c in child.children if c.lower_ == "of" for g in c.children
                                         if g.dep_ == "pobj"), child)
                        if head.lower_ not in _NOT_CONTENT and head.is_alpha:
                            core.append(head.lower_)
        else:
            content = [w for w in words(fact_form(essential_text or original, self.language))
                       if len(w) > 3 and w not in _NOT_CONTENT]
        said = words(original) + words(fact_form(original, self.language))
        vocabulary = frozenset(w for word in said for w in (word, _stem(word)))
        last_word = (words(original) or [""])[-1]
        return Facts(numbers, negation_count(original, self.language), tuple(dict.fromkeys(names)),
                     tuple(dict.fromkeys(content)), tuple(dict.fromkeys(core)), problem, vocabulary, last_word)

    def check(self, facts: Facts, candidate: str) -> str:
        """Why ``candidate`` loses what the original says ("" when it keeps it all)."""
        missing_numbers = facts.numbers - numbers_in(candidate, self.language)
        if missing_numbers:
            return f"drops or changes a number ({', '.join(sorted(missing_numbers))})"
        if negation_count(candidate, self.language) < facts.negations:
            return "drops a negation"
        form = fact_form(candidate, self.language)  # "20%" states what "20 percent" does
        lower = form.lower()
        for name in facts.names:
            if not re.search(rf"(?<!\w){re.escape(fact_form(name, self.language).lower())}(?!\w)", lower):
                return f"drops {name!r}"
        said = words(candidate) + words(form)  # "one" stays a word ("no one"), and "percent" one too
        present = set(said)
        stems = {_stem(w) for w in present}
        lost_core = [w for w in facts.core if not _kept(w, present, stems)]
        if lost_core:
            return f"drops the main clause's {lost_core[0]!r}"
        if facts.content:
            kept = sum(_kept(w, present, stems) for w in facts.content)
            if kept / len(facts.content) < self.content_floor - 1e-9:
                return f"keeps {kept} of {len(facts.content)} content words"
        if facts.vocabulary and normalize_language(self.language) == "en":
            new = [w for w in dict.fromkeys(said)
                   if w.isalpha() and len(w) > 3 and w not in _STOP and w not in _RULE_WORDS
                   and w not in facts.vocabulary and _stem(w) not in facts.vocabulary]
            if len(new) > self.max_new_words:
                return f"adds words the original does not say ({', '.join(new[:3])})"
        return ""

    def fluency(self, facts: Facts, doc: Doc) -> str:
        """Why the candidate's parse is not a sentence ("" when it is, or when it has only the
        flaw the original already had: spoken fragments stay fragments)."""
        problem = sentence_problem(doc)
        if problem and problem.split(" (")[0] != facts.problem.split(" (")[0]:
            return f"not a sentence: {problem}"
        last = [t for t in doc if not t.is_punct][-1:]
        if last and last[0].dep_ == "prep" and not list(last[0].children) and last[0].lower_ != facts.last_word:
            return f"not a sentence: ends on {last[0].text!r}"  # "you can keep in mind for."
        return ""


def first_fluent(guard: Guard, facts: Facts, nlp: Any, texts: Iterable[str], limit: int = 4) -> dict[str, str]:
    """Parse up to ``limit`` of ``texts`` in one batch; their fluency notes by text."""
    batch = list(dict.fromkeys(texts))[:limit]
    return {t: guard.fluency(facts, doc) for t, doc in zip(batch, nlp.pipe(batch), strict=True)}
