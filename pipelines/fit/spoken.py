"""Cuts a subtitler makes first in spoken English: fillers, hedges, openers, repeats, false starts.

Unscripted speech carries words that a reader does not need and a subtitler drops before
anything else: discourse openers ("So,", "Well,", "All right, so"), fillers ("you know", "I
mean", "like,"), hedges ("kind of", "basically", "actually"), signposts that refer back ("as
we discussed in the previous lecture,") or forward ("what we're going to do is"), tag
questions (", right?"), words said twice ("the the") and false starts ("we can-- we can see").
None of them states a fact, so these cuts come before any deletion that loses content.

Each rule is a regular expression over the text, applied in order; ``spoken_cuts`` applies them
all and tidies the punctuation they leave. English only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipelines.fit.rules import tidy

Replacement = str | Callable[[re.Match[str]], str]

_OPENER_WORDS = (
    r"so|well|okay|ok|all right|alright|right|now|um+|uh+|oh|you know|I mean|basically|actually|"
    r"anyway|frankly|honestly|again|indeed|of course|in fact|long story short|yeah|yes"
)
# "So," / "And so" / "All right, so" / "Now, again," at the start of a sentence, repeated.
# Not "so" as a degree word ("So many people ...") nor "So that ...", which the lookahead keeps.
_OPENER = re.compile(
    rf"^(?:(?:and|but)\s+)?(?:{_OPENER_WORDS})\b(?!\s+(?:many|much|far|few|long|that|to|and|as|now|here|there|away|after|before|then|is|was|are|'s)\b)(?!')"
    r"(?:\s*[,.!-]+\s*|\s+)",
    re.IGNORECASE,
)
_AND = re.compile(r"^and\s+(?!so\b|then\b|yet\b)(?=\w)", re.IGNORECASE)

_RULES: list[tuple[str, Replacement]] = [
    # Back-references to earlier lectures and signposts.
    (r",?\s*\b(?:just )?as (?:we|I|you)(?:'ve| have)? (?:discussed|saw|seen|said|mentioned|talked about|covered|did|learned|noted|described)"
     r"(?: (?:it|this|that|before|earlier|already|previously|last time|last week|a moment ago|a while ago|in the (?:previous|last|first|earlier) "
     r"(?:lecture|video|lesson|class|chapter|section|week)|in lecture \w+|in week \w+))*\s*(?=[,.;!?]|$),?", ""),
    (r"\b(?:and )?(?:it )?turns out(?! to\b)(?: that)?,?\s*", ""),
    (r"^(?:for example|for instance|by the way|first of all),\s*", ""),
    (r"\b(let's|let me|we'll|I'll) take a (?:moment|second|minute) and\b", lambda m: m.group(1)),
    (r"\blong story short,?\s*", ""),
    (r"\bwhat (?:we're|we are) (?:going to|gonna) (?:do|be doing|look at)(?: now| today| here| next)? is(?: to)?\b", "we'll"),
    (r"\bwhat (?:I'm|I am) (?:going to|gonna) (?:do|be doing)(?: now| today| here| next)? is(?: to)?\b", "I'll"),
    (r"\bthe (?:idea|point|thing) (?:here )?is(?: that)?,\s*", ""),
    (r"\b(?:let me|let's|I'm going to|I'll|we'll|we're going to) go ahead and\b",
     lambda m: m.group(0).rsplit(" go ahead and", 1)[0]),
    (r"\bgo ahead and\s+", ""),
    # Roundabout verbs of speech: "turns out to be" / "happens to be" say "is".
    (r"\b(?:just )?(?:so )?(?:turns out|happens) to be\b", "is"),
    (r"\b(?:just )?(?:so )?(?:turned out|happened) to be\b", "was"),
    (r"(?<!\bI )(?<!\byou )\b(?:just )?(?:so )?(?:turn out|happen) to be\b", "are"),
    (r"\ba (?:whole )?bunch of\b", "lots of"),
    (r"\b(inside|outside) of\b", lambda m: m.group(1)),
    (r"\beach one of\b", "each of"),
    (r"\bwhat's going on\b", "what happens"),
    (r"\bkind of\b(?=\s+(?:a|an|the|like|[a-z]+(?:ly|ed|ing)\b))", ""),
    (r"\bsort of\b(?=\s+(?:a|an|the|like|[a-z]+(?:ly|ed|ing)\b))", ""),
    (r"(?<=[a-z]) (?:kind of|sort of)(?= [a-z]+\b)(?<!what kind of)(?<!what sort of)(?<!this kind of)(?<!that kind of)"
     r"(?<!the kind of)(?<!the sort of)(?<!a kind of)(?<!a sort of)(?<!some kind of)(?<!some sort of)", ""),
    # Fillers between commas or dashes.
    (r",\s*(?:you know|I mean|like|um+|uh+|so to speak|if you will|as it were|right)\s*(?:,|--)", ","),
    (r"(?:,\s*)?\b(?:you know|I mean),\s*", " "),
    (r"\b(?:um+|uh+|erm)\b,?\s*", ""),
    # Tag questions: ", right?", ", okay?", ", yeah?" at the end.
    (r",\s*(?:right|okay|ok|yeah|yes|no|you know|if you will)\s*([?.!])\s*$", "."),
    # Hedges that add no fact.
    (r"\b(?:basically|actually|literally|essentially|totally|frankly|honestly|certainly|definitely|obviously)\b,?\s*", ""),
    (r"\b(?:pretty|really|super)\s+(?=(?:much|big|small|simple|easy|hard|good|bad|cool|neat|quick|fast|slow|"
     r"straightforward|similar|nice|interesting|common|useful|clear|important|powerful)\b)", ""),
    (r"\bI (?:think|guess|suppose|would say|'d say)(?: that)?,?\s+(?=\w)", ""),
    (r"\b(?:you can see (?:here )?that|notice that|recall that|note that)\s+(?=\w)", ""),
    (r"\bif you will\b,?\s*", ""),
    (r"\ball the way\b\s*", ""),
    (r"\bso-called\s+", ""),
]
_COMPILED = [(re.compile(p, re.IGNORECASE), r) for p, r in _RULES]

# "the the", "we, we", "I-- I": a word said twice. ("that that" and "had had" can be right.)
_REPEAT = re.compile(r"\b(?!(?:that|had|is|do)\b)(\w+(?:'\w+)?)(?:\s*(?:,|--|-|—)?\s+\1\b)+", re.IGNORECASE)
# A false start: up to four words broken off with "--" and said again ("you need-- you need to").
_RESTART = re.compile(r"\b((\w+)(?:\s+[\w']+){0,3})\s*--\s+(?=\2\b)", re.IGNORECASE)


def _sub(pattern: re.Pattern[str], repl: Replacement, text: str) -> str:
    return pattern.sub(repl, text)


def strip_openers(text: str) -> str:
    """Drop discourse openers at the start ("So, ", "And so", "Well, all right,") until none is left."""
    previous = None
    while previous != text:
        previous = text
        text = _OPENER.sub("", text, count=1)
        text = _AND.sub("", text, count=1)
    return text


def spoken_cuts(text: str) -> str:
    """Apply every spoken-language cut to ``text`` and tidy the punctuation they leave.

    The result keeps every content word of the sentence except fillers and hedges; it may
    equal ``text`` when there is nothing to cut.
    """
    out = _RESTART.sub("", text)
    out = _REPEAT.sub(lambda m: m.group(1), out)
    out = strip_openers(out.strip())
    for pattern, repl in _COMPILED:
        out = _sub(pattern, repl, out)
    out = strip_openers(tidy(out, like=text))
    out = re.sub(r"\s*--\s*(?=[.!?]$)", "", out)
    return tidy(out, like=text)
