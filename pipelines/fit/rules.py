"""Shortening rules: the cheap, faithful first candidates of a fit.

Rules come in levels, each applied on top of the one before, so a caller can take the least
change that is short enough:

1. ``phrases``: verbose phrases to short ones ("in order to" -> "to", "at this point in time" ->
   "now") and fillers ("so basically", "you know").
2. ``style``: contractions ("do not" -> "don't") and numbers as digits ("twenty-five" -> "25");
   English only.
3. ``hedges``: hedges and intensifiers ("really", "actually", "just", "very") and discourse
   openers ("So,", "Okay,").

``trims`` gives extractive candidates that drop whole parts (brackets, asides between dashes,
trailing clauses); they lose content, so the sentence fitter only keeps those its meaning check lets
through. Languages with rules: en, de, fr, es, it; other languages get the trims only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipelines.fit.estimates import normalize_language

Replacement = str | Callable[[re.Match[str]], str]
Rule = tuple[re.Pattern[str], Replacement]
Pair = tuple[str, Replacement]


def _rules(pairs: Sequence[Pair]) -> list[Rule]:
    # Whole words only, case-insensitive; the replacement keeps a leading capital (see _apply). A
    # pattern may also start at a comma (an aside's own commas go with it: "The issue, of course,
    # is" -> "The issue is", not "The issue, is").
    return [
        (re.compile(rf"(?:(?<![\w'’])|(?=,))(?:{pattern})(?:(?<=[^\w'’])|(?![\w'’]))", re.IGNORECASE), repl)
        for pattern, repl in pairs
    ]


def _reading_only(repl: object) -> bool:
    # Abbreviations and symbols shorten what is read, not what is spoken ("e.g." is said in full).
    return isinstance(repl, str) and bool(re.search(r"\.|%", repl))


# A short opening phrase ("In this case", "So", "When it runs") keeps the comma that ends it
# when an aside after it goes: "In this case, by the way, the value" -> "In this case, the value".
_INTRO = re.compile(r"(?:^|[.!?]\s+)(?:in|on|at|for|with|if|when|once|after|before|since|because|as|from|by|"
                    r"so|but|and|now|here|then|first|also|still|yet|however|instead|again)\b[^,.!?]*$", re.IGNORECASE)


def _aside(match: re.Match[str]) -> str:
    """Drop a hedge said as an aside. Between commas, both go ("The issue, of course, is" -> "The
    issue is"), except after an opening phrase, whose comma stays; with only a comma before it,
    the comma stays ("for the driver, in fact it's impossible": two clauses)."""
    text = match.group(0)
    if not text.startswith(","):
        return ""
    before = match.string[: match.start()]
    if not text.endswith(",") or (_INTRO.search(before) and len(before.split()) <= 6):
        return ","
    return ""


# --- English -------------------------------------------------------------------------------

_EN_FILLERS = [
    (r"so basically,?", ""), (r"basically,? what (?:happens|we do|you do) is(?: that)?,?", ""),
    (r"what happens is(?: that)?,?", ""), (r",? you know,", ""), (r"^you know,", ""), (r"I mean,", ""), (r"um+,?", ""),
    (r"uh+,?", ""), (r"erm,?", ""), (r"the thing is(?: that)?,", ""), (r"as it were,?", ""),
    (r"if you will,?", ""), (r"so to speak,?", ""), (r"okay,? so,?", ""), (r"all right,? so,?", ""),
    (r"alright,? so,?", ""), (r"pretty much", ""), (r"more or less", ""), (r"kind of", ""),
    (r"sort of", ""), (r"at the end of the day,?", ""), (r"needless to say,?", ""),
    (r"(?:I think )?it (?:is|'s) (?:really |very )?(?:important|worth) (?:to note|noting|mentioning|pointing out) that", ""),
    (r"what I want you to (?:notice|see|remember|understand|know)(?: here)? is(?: that)?,?", ""),
    (r"the (?:thing|point) to (?:keep in mind|remember|note)(?: here)? is(?: that)?,?", ""),
    (r"just to be clear,", ""),
    (r"it should be noted that", ""), (r"as (?:you can|we can) see(?: here)?,", ""),
    (r"as I (?:said|mentioned)(?: before| earlier)?,", ""),
]

_EN_PHRASES: list[Pair] = [
    (r"in order to", "to"), (r"in order for", "for"), (r"so as to", "to"),
    (r"at this (?:point|moment) in time", "now"), (r"at the present time", "now"),
    (r"at the moment", "now"), (r"at this point", "now"), (r"in this day and age", "today"),
    (r"due to the fact that", "because"), (r"because of the fact that", "because"),
    (r"owing to the fact that", "because"), (r"in view of the fact that", "because"),
    (r"the reason (?:why )?(?:is|was) (?:that|because)", "because"),
    (r"in spite of the fact that", "although"), (r"despite the fact that", "although"),
    (r"regardless of the fact that", "although"), (r"in the event that", "if"),
    (r"in the case that", "if"), (r"on the condition that", "if"), (r"for the purpose of", "for"),
    (r"with (?:regard|respect|reference) to", "about"), (r"in (?:regard|relation) to", "about"),
    (r"(?:a|the) (?:large|great|significant) (?:number|amount) of", "many"),
    (r"a great deal of", "much"), (r"(?:the )?vast majority of", "most"),
    (r"the majority of", "most"), (r"a (?:small )?number of", "some"), (r"in the near future", "soon"),
    (r"(?:is|are) (?:able|in a position) to", "can"), (r"(?:has|have) the (?:ability|capacity) to", "can"),
    (r"(?:will|'ll) be able to", "can"), (r"prior to", "before"), (r"subsequent to", "after"),
    (r"in a situation where", "when"), (r"in situations where", "when"), (r"on a daily basis", "daily"),
    (r"on a regular basis", "regularly"), (r"on a weekly basis", "weekly"), (r"each and every", "every"),
    (r"first and foremost", "first"), (r"whether or not", "whether"), (r"until such time as", "until"),
    (r"at all times", "always"), (r"in close proximity to", "near"), (r"in the process of", ""),
    (r"make a decision", "decide"), (r"made a decision", "decided"), (r"give consideration to", "consider"),
    (r"take into (?:account|consideration)", "consider"), (r"make use of", "use"),
    (r"makes use of", "uses"), (r"made use of", "used"), (r"come to the conclusion that", "conclude that"),
    (r"(?:take|have) a (?:quick |closer |close )?look at", "look at"),
    (r"takes a (?:quick |closer |close )?look at", "looks at"),
    (r"what (?:we are|we're) going to do (?:now |today |here )?is", "we'll"),
    (r"what (?:I am|I'm) going to do (?:now |today |here )?is", "I'll"),
    (r"(?:we are|we're) going to be", "we'll be"), (r"(?:we are|we're) going to", "we'll"),
    (r"(?:I am|I'm) going to", "I'll"), (r"(?:you are|you're) going to", "you'll"),
    (r"(?:they are|they're) going to", "they'll"), (r"(?:it is|it's) going to", "it'll"),
    (r"(?:I am|I'm) gonna", "I'll"), (r"(?:we are|we're) gonna", "we'll"), (r"(?:you are|you're) gonna", "you'll"),
    (r"(?:they are|they're) gonna", "they'll"), (r"(?:it is|it's) gonna", "it'll"), (r"(?:is|'s) gonna", "will"),
    (r"(?:are|'re) gonna", "will"),
    (r"is going to", "will"), (r"are going to", "will"), (r"be looking at", "look at"),
    (r"all of the", "all the"), (r"both of the", "both"), (r"outside of", "outside"), (r"off of", "off"),
    (r"(?:the )?(?:different |various )?ways? in which", "how"), (r"as well as", "and"),
    (r"in addition to", "besides"), (r"in addition,", "also,"), (r"for example", "e.g."),
    (r"for instance", "e.g."), (r"in other words", "i.e."), (r"and so on and so forth", "etc."),
    (r"and so on", "etc."), (r"and so forth", "etc."),
    # "a lot of" counts a plural ("a lot of these", "a lot of tools") as "many"; not after a
    # singular "is" ("in the middle is a lot of ..."), whose verb would then disagree.
    (r"(?<!\bis )(?<!'s )(?:a lot|lots) of (?=(?:these|those|them|us|you)\b)", "many of "),
    (r"(?<!\bis )(?<!'s )(?:a lot|lots) of (?=(?:\w+ )?\w+[^s\W]s\b)(?!\w*(?:ics|ous|ness|ss|news|series)\b)"
     r"(?!(?:this|his|its|was|is|us|has|yes|plus|less|thus|class|process)\b)", "many "),
    (r"a lot of", "lots of"),
    (r"(?:was|were) able to", "could"),
    (r"all of (?=(?:these|those|this)\b)", "all "), (r"both of (?=(?:these|those)\b)", "both "),
    (r"the same as", "like"), (r"in this particular", "in this"), (r"this particular", "this"),
    (r"at the same time as", "while"), (r"make sure that", "ensure"), (r"make sure", "ensure"),
    (r"in the first place", ""), (r"the fact that", "that"), (r"with the help of", "with"),
    (r"by means of", "by"), (r"in a (?:\w+ )?(?:way|manner)", lambda m: _manner(m.group(0))),
    (r"it is possible to", "you can"), (r"it's possible to", "you can"), (r"there is a need to", "we must"),
    # Not after a modal: "would have to be" cannot become "would must be".
    (r"(?<!would )(?<!could )(?<!should )(?<!might )(?<!may )(?<!will )(?<!'ll )(?<!'d )has to be", "must be"),
    (r"(?<!would )(?<!could )(?<!should )(?<!might )(?<!may )(?<!will )(?<!'ll )(?<!'d )have to be", "must be"),
    (r"(?<!would )(?<!could )(?<!should )(?<!might )(?<!may )(?<!will )(?<!'ll )(?<!'d )need to be", "must be"),
    (r"in the same way", "likewise"), (r"as a result", "so"), (r"as a consequence", "so"),
    (r"which is why", "so"), (r"(?:has|have) got to", "must"), (r"(?<=you )have to", "must"),
    (r"(?<=we )have to", "must"), (r"in a matter of (?=seconds|minutes|hours|days)", "in "),
    (r"as many times as you (?:need|want|like)(?: to)?", "as often as needed"),
    (r"it is a good idea to", "it's best to"), (r"it's a good idea to", "it's best to"),
    (r"a little more", "more"),
    # "that" after verbs of saying and knowing, and before a subject pronoun, can go:
    # "remember that you" -> "remember you", "the files that you select" -> "the files you select".
    (r"(remember|note|notice|see|know|knows|think|say|says|said|mean|means|show|shows|tell|tells|"
     r"suggest|suggests|ensure|ensures|check|believe|find|found|realise|realize|assume|hope|sure)"
     r" that(?= \w)", lambda m: m.group(1)),
    # Not the pronoun "that" ("after that we stop", "is it that we"): after a preposition or "it".
    (r"(?<=\w )(?<!\bit's )(?<!\bjust )(?<!\bafter )(?<!\bbefore )(?<!\bof )(?<!\bwith )(?<!\bfor )(?<!\blike )(?<!\bthan )"
     r"(?<!\band )(?<!\bbut )(?<!\bso )(?<!\bin )(?<!\bon )(?<!\bat )(?<!\bby )(?<!\bfrom )(?<!\bto )"
     r"(?<!\bit )(?<!\babout )(?<!\bdo )(?<!\bdid )that(?= (?:you|we|they|I|he|she|it|people|the user|users)\b)"
     r"(?! (?:is|are|was|were)\b)", ""),
    (r"on the other hand", "but"), (r"in conclusion", "finally"), (r"to begin with", "first"),
    # Spoken roundabouts with a short form that says the same.
    (r"if (?:I|you|we|they|one) (?:want|wants|would like|'d like) to", "to"),
    (r"(I|you|we|they) need to(?= \w)", lambda m: m.group(1) + " must"),
    (r"(?<=[,;] )(?:that|this)'s why", "so"), (r"a lot (?=more|less|better|worse|faster|slower|easier|harder)", "much "),
    (r"focus (?:our|your|their|my|his|her) attention on", "focus on"),
    # "a study conducted by X" -> "a study by X"; not after a verb ("it was written by X").
    (r"(?<!\bwas )(?<!\bwere )(?<!\bis )(?<!\bare )(?<!\bbe )(?<!\bbeen )(?<!\bbeing )(?<!\bget )(?<!\bgot )"
     r"(?:conducted|carried out|written|created|performed|developed|designed|published|invented) by", "by"),
]

_EN_CONTRACTIONS: list[Pair] = [
    (r"do not", "don't"), (r"does not", "doesn't"), (r"did not", "didn't"), (r"is not", "isn't"),
    (r"are not", "aren't"), (r"was not", "wasn't"), (r"were not", "weren't"), (r"cannot", "can't"),
    (r"can not", "can't"), (r"could not", "couldn't"), (r"would not", "wouldn't"),
    (r"should not", "shouldn't"), (r"will not", "won't"), (r"have not", "haven't"),
    (r"has not", "hasn't"), (r"had not", "hadn't"), (r"must not", "mustn't"), (r"need not", "needn't"),
    (r"let us", "let's"), (r"I am", "I'm"), (r"I will", "I'll"), (r"you will", "you'll"),
    (r"we will", "we'll"), (r"they will", "they'll"), (r"it will", "it'll"), (r"that will", "that'll"),
    (r"you are", "you're"), (r"we are", "we're"), (r"they are", "they're"), (r"I would", "I'd"),
    (r"you would", "you'd"), (r"we would", "we'd"), (r"there is(?= (?:a|an|the|no|one|some|another|nothing|something)\b)", "there's"),
    (r"here is(?= (?:a|an|the|how|what|your|my|our|one|some|another)\b)", "here's"),
    (r"what is", "what's"), (r"that is", "that's"), (r"it is", "it's"), (r"he is", "he's"),
    (r"she is", "she's"), (r"who is", "who's"), (r"where is", "where's"), (r"how is", "how's"),
    # "have" contracts as an auxiliary only (before a past participle): "you've finished".
    (r"I have(?= \w+(?:ed|en|ne|wn|un|ot)\b)", "I've"), (r"you have(?= \w+(?:ed|en|ne|wn|un|ot)\b)", "you've"),
    (r"we have(?= \w+(?:ed|en|ne|wn|un|ot)\b)", "we've"), (r"they have(?= \w+(?:ed|en|ne|wn|un|ot)\b)", "they've"),
    (r"(would|could|should|must|might) have(?= \w+(?:ed|en|ne|wn|un|ot)\b)", lambda m: m.group(1) + "'ve"),
    (r"(it|that|there|he|she|who) has(?= (?:been|got|had|done|gone|become|\w+ed)\b)", lambda m: m.group(1) + "'s"),
    (r"they would", "they'd"), (r"he would", "he'd"), (r"she would", "she'd"),
    (r"they had(?= (?:been|\w+ed)\b)", "they'd"), (r"we had(?= (?:been|\w+ed)\b)", "we'd"),
]

_EN_HEDGES: list[Pair] = [
    (r"really", ""), (r"actually", ""), (r"basically", ""), (r"essentially", ""), (r"literally", ""),
    (r"just", ""), (r"very", ""), (r"quite", ""), (r"simply", ""), (r"totally", ""), (r"certainly", ""),
    (r"definitely", ""), (r"obviously", ""), (r"clearly", ""), (r"(?:,\s*)?of course,?", _aside), (r"(?:,\s*)?in fact,?", _aside),
    (r"I think(?: that)?", ""), (r"I believe(?: that)?", ""), (r"I guess", ""), (r"perhaps", "maybe"),
    (r"(?:,\s*)?generally speaking,?", _aside), (r"fairly", ""), (r"rather(?= \w)(?! than)", ""), (r"somewhat", ""),
    (r"(?<!more )particularly", ""), (r"(?<!more )specifically", ""), (r"(?:that|which) (?:is|are) called", "called"),
    (r"(?:that|which) (?:is|are) (?=\w+ed\b)", ""), (r"in this (?:video|lesson|tutorial|lecture),?", ""),
    (r"here,", ""), (r"now,", ""), (r"(?<=^)(?:so|okay|ok|well|alright|right|now|and),", ""),
    (r"(?<=^)(?:so|okay|ok|well|alright|now|and) (?=\w)(?!(?:is|was|are|were|'s)\b)", ""), (r"all the different", "all the"),
    (r"different kinds of", "kinds of"), (r"various different", "various"), (r"a bit", ""),
    (r"a little bit", ""), (r"little bit", "bit"), (r"a little(?= (?:\w+er|more|less)\b)", ""),
    (r"(?:,\s*)?by the way,?", _aside), (r"(?:,\s*)?if you like,?", _aside), (r"go ahead and", ""), (r"try and", "try to"),
    (r"in (?:order|an effort|an attempt) to", "to"), (r"(?:that|this) is why", "so"),
]


def _manner(phrase: str) -> str:
    words = phrase.split()
    # "in a careful way" -> "carefully"; "in a way" stays (no adjective to turn into an adverb).
    if len(words) == 4 and words[2].isalpha():
        adj = words[2].lower()
        if adj.endswith("y"):
            return adj[:-1] + "ily"
        if adj.endswith("le"):
            return adj[:-1] + "y"
        if adj.endswith("ic"):
            return adj + "ally"
        return adj + "ly"
    return phrase


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_NUM_WORD = "|".join([*_UNITS, *_SCALES])
_NUMBER_RUN = re.compile(
    rf"(?<![\w'’-])(?:{_NUM_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUM_WORD}))*(?![\w'’-])", re.IGNORECASE
)


def _parse_number_words(words: list[str]) -> int | None:
    total, current = 0, 0
    for w in words:
        if w in _UNITS:
            current += _UNITS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        elif w in _SCALES:
            total += max(current, 1) * _SCALES[w]
            current = 0
        else:
            return None
    return total + current


def _digits(match: re.Match[str]) -> str:
    text = match.group(0)
    words = [w for w in re.split(r"[\s-]+", text.lower()) if w and w != "and"]
    value = _parse_number_words(words)
    # Subtitle style: one to ten stay words ("one of the", "two ways"); larger numbers are digits.
    if value is None or (len(words) == 1 and value <= 10):
        return text
    return f"{value:,}" if value >= 10_000 else str(value)


def _numbers_en(text: str) -> str:
    text = _NUMBER_RUN.sub(_digits, text)
    return re.sub(r"(\d)\s*(?:percent|per cent)\b", r"\1%", text, flags=re.IGNORECASE)


# --- other languages -----------------------------------------------------------------------

# A language's fillers, phrases and hedges.
_Table = tuple[list[Pair], list[Pair], list[Pair]]

_DE: _Table = (
    # No sentence-initial adverbials here: dropping one breaks German verb-second order.
    [(r"sozusagen,?", ""), (r"gewissermaßen,?", ""), (r"quasi", ""), (r"ähm,?", ""), (r"äh,?", ""),
     (r"halt", "")],
    [(r"aufgrund der Tatsache, dass", "weil"), (r"auf Grund der Tatsache, dass", "weil"),
     (r"zum jetzigen Zeitpunkt", "jetzt"), (r"zum gegenwärtigen Zeitpunkt", "jetzt"),
     (r"im Moment", "jetzt"), (r"in Bezug auf", "zu"), (r"mit Hilfe von", "mit"),
     (r"mithilfe von", "mit"), (r"eine große Anzahl von", "viele"), (r"die Mehrheit der", "die meisten"),
     (r"in der Lage sein,? zu", "können"), (r"ist in der Lage,? zu", "kann"), (r"sind in der Lage,? zu", "können"),
     (r"zum Beispiel", "z. B."), (r"das heißt", "d. h."), (r"und so weiter", "usw."),
     (r"im Anschluss daran", "danach"), (r"zu diesem Zweck", "dafür"),
     (r"aus diesem Grund", "daher"), (r"darüber hinaus", "zudem"), (r"in der Regel", "meist"),
     (r"im Allgemeinen", "meist"), (r"aufgrund von", "wegen"), (r"eine Reihe von", "einige"),
     (r"mit anderen Worten", "d. h."), (r"unter anderem", "u. a."), (r"beziehungsweise", "bzw."),
     (r"ungefähr", "ca."),
     # Preposition + article, as written German contracts them; not after a comma, where "dem"
     # and "das" open a relative clause ("das Haus, in dem ich wohne").
     *((rf"(?<![,;]\s){a} {b}(?= \w)", c) for a, b, c in (
         ("in", "dem", "im"), ("in", "das", "ins"), ("an", "dem", "am"), ("an", "das", "ans"),
         ("zu", "dem", "zum"), ("zu", "der", "zur"), ("von", "dem", "vom"), ("bei", "dem", "beim")))],
    [(r"eigentlich", ""), (r"wirklich", ""), (r"einfach(?! zu\b)(?!\s*[,.;:!?])", ""), (r"sehr", ""), (r"ganz", ""),
     (r"ziemlich", ""), (r"tatsächlich", ""), (r"(?<=^)(?:also|so|okay|gut), ", ""),
     # Modal particles and hedges of spoken German, inside the sentence only (verb-second order).
     (r"(?<=\w\s)(?:im Grunde(?: genommen)?|im Prinzip|letztendlich|letzten Endes|im Endeffekt|natürlich|"
      r"übrigens|irgendwie|durchaus|ja|doch|nun|wohl),?", "")],
)
_FR: _Table = (
    [(r"en fait,?", ""), (r"du coup,?", ""), (r"en quelque sorte,?", ""), (r"euh,?", ""),
     (r"bon,", ""), (r"vous voyez,?", ""), (r"tu vois,?", "")],
    [(r"afin de", "pour"), (r"dans le but de", "pour"), (r"en vue de", "pour"),
     (r"en raison du fait que", "parce que"), (r"du fait que", "parce que"), (r"étant donné que", "car"),
     (r"à l'heure actuelle", "actuellement"), (r"à l’heure actuelle", "actuellement"),
     (r"en ce moment", "maintenant"), (r"à ce moment-là", "alors"), (r"un grand nombre de", "beaucoup de"),
     (r"la plupart du temps", "souvent"), (r"la majorité des", "la plupart des"),
     (r"être en mesure de", "pouvoir"), (r"est en mesure de", "peut"), (r"sont en mesure de", "peuvent"),
     (r"par exemple", "p. ex."), (r"et ainsi de suite", "etc."), (r"c'est-à-dire", "c.-à-d."),
     (r"dans cette vidéo,?", ""), (r"nous allons maintenant", "nous allons"),
     (r"en ce qui concerne le(?= \w)", "quant au"), (r"en ce qui concerne les", "quant aux"),
     (r"en ce qui concerne", "quant à"), (r"à l'aide de", "avec"), (r"à l’aide de", "avec"),
     (r"dans le cadre de", "dans"), (r"un certain nombre de", "plusieurs"), (r"afin que", "pour que"),
     # "lorsque" says "quand"; "parce que" inside a sentence says "car" (not as an answer's first word).
     (r"lorsque", "quand"), (r"lorsqu['’](\w+)", lambda m: "quand " + m.group(1)),
     (r"(?<=\w )parce que", "car"), (r"(?<=\w )parce qu['’](\w+)", lambda m: "car " + m.group(1))],
    [(r"vraiment", ""), (r"très", ""), (r"tout simplement", ""), (r"simplement", ""),
     (r"effectivement,?", ""), (r"évidemment,?", ""), (r"bien sûr,?", ""), (r"(?<=^)(?:alors|donc|bon),? ", ""),
     # Hedges and linking words of spoken French that state no fact.
     (r"(?:d'ailleurs|d’ailleurs|justement|quand même|tout de même|en effet|bien entendu|naturellement|"
      r"franchement|carrément|littéralement|essentiellement|fondamentalement|disons|pour ainsi dire|"
      r"en gros|à vrai dire),?", ""),
     (r"(?<=\w\s)donc,?", "")],
)
_ES: _Table = (
    [(r"o sea,?", ""), (r"bueno,", ""), (r"pues,", ""), (r"este,", ""), (r"digamos,?", ""),
     (r"¿vale\?", ""), (r"básicamente,?", "")],
    [(r"con el fin de", "para"), (r"a fin de", "para"), (r"con el objetivo de", "para"),
     (r"debido al hecho de que", "porque"), (r"debido a que", "porque"), (r"dado que", "ya que"),
     (r"en este momento", "ahora"), (r"en la actualidad", "hoy"), (r"un gran número de", "muchos"),
     (r"la mayoría de los", "casi todos los"), (r"es capaz de", "puede"), (r"son capaces de", "pueden"),
     (r"tiene la posibilidad de", "puede"), (r"por ejemplo", "p. ej."), (r"y así sucesivamente", "etc."),
     (r"en este vídeo,?", ""), (r"en este video,?", ""), (r"vamos a proceder a", "vamos a")],
    [(r"realmente", ""), (r"muy", ""), (r"simplemente", ""), (r"en realidad,?", ""),
     (r"obviamente,?", ""), (r"claramente,?", ""), (r"(?<=^)(?:entonces|bueno|pues|así que),? ", "")],
)
_IT: _Table = (
    [(r"cioè,?", ""), (r"praticamente,?", ""), (r"diciamo,?", ""), (r"insomma,?", ""), (r"ehm,?", "")],
    [(r"al fine di", "per"), (r"allo scopo di", "per"), (r"in modo da", "per"),
     (r"a causa del fatto che", "perché"), (r"dato che", "poiché"), (r"in questo momento", "ora"),
     (r"al momento attuale", "ora"), (r"un gran numero di", "molti"), (r"la maggior parte dei", "quasi tutti i"),
     (r"è in grado di", "può"), (r"sono in grado di", "possono"), (r"per esempio", "ad es."),
     (r"ad esempio", "ad es."), (r"e così via", "ecc."), (r"in questo video,?", "")],
    [(r"veramente", ""), (r"davvero", ""), (r"molto", ""), (r"semplicemente", ""),
     (r"ovviamente,?", ""), (r"chiaramente,?", ""), (r"(?<=^)(?:allora|quindi|ecco|bene),? ", "")],
)


@dataclass(frozen=True)
class _LanguageRules:
    phrases: list[Rule]
    style: list[Callable[[str], str]]
    hedges: list[Rule]


# "it is" / "that is" at the end of a clause cannot contract ("I know what it is." stays).
_EN_CONTRACTION_RULES = _rules([(rf"{p}(?=\s+[\w'’])", r) for p, r in _EN_CONTRACTIONS])


def _contractions_en(text: str) -> str:
    return _apply(text, _EN_CONTRACTION_RULES)


def _build(reading: bool) -> dict[str, _LanguageRules]:
    def keep(rules: list[Rule]) -> list[Rule]:
        return rules if reading else [r for r in rules if not _reading_only(r[1])]

    out = {
        "en": _LanguageRules(
            phrases=keep(_rules([*_EN_FILLERS, *_EN_PHRASES])),
            style=[_contractions_en, _numbers_en],
            hedges=keep(_rules(_EN_HEDGES)),
        )
    }
    for lang, (fillers, phrases, hedges) in {"de": _DE, "fr": _FR, "es": _ES, "it": _IT}.items():
        out[lang] = _LanguageRules(
            phrases=keep(_rules([*fillers, *phrases])), style=[], hedges=keep(_rules(hedges))
        )
    return out


LEVELS = ("phrases", "style", "hedges")


def _keep_case(original: str, replacement: str) -> str:
    if replacement and original[:1].isupper() and not replacement[:1].isupper():
        return replacement[0].upper() + replacement[1:]
    return replacement


def _apply(text: str, rules: list[Rule]) -> str:
    out = text
    for pattern, repl in rules:
        out = pattern.sub(repl if callable(repl) else _case_keeping(repl), out)
    return tidy(out, like=text)


def _case_keeping(replacement: str) -> Callable[[re.Match[str]], str]:
    def sub(match: re.Match[str]) -> str:
        return _keep_case(match.group(0), replacement)

    return sub


# Abbreviations a rule writes ("z. B.", "ca.", "e.g.", "p. ex."): the word after one is not a new sentence.
_ABBREVIATION_END = re.compile(r"(?:\b\w\.|\b(?:ca|bzw|usw|ex|env|ecc|ej|es|vs|approx)\.)\s+$", re.IGNORECASE)


def _capital_after_stop(match: re.Match[str]) -> str:
    if _ABBREVIATION_END.search(match.string[: match.end(1)]):
        return match.group(0)
    return match.group(1) + match.group(2).upper()


# A space before these marks that the source text has is its typography, not a cut's leftover:
# French writes "n'est-ce pas ?", "attention : ici", "20 %" (a no-break space in print).
_SPACED_MARKS = ";:!?%"
_SPACED_BEFORE = re.compile(r"(?<=[\w)»\"'’])\s+([;:!?%])")
_FIRST_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE_END = re.compile(r"[.!?][\"'’”»)]*\s")


def tidy(text: str, like: str | None = None) -> str:
    """Repair spacing, commas and capitals after words were removed.

    ``like`` is the text this one was made from. Its typography is kept: a space before ``; : !
    ? %`` where it has one (French), and the case of the first letter (``first_letter``): a cue
    that continues a sentence ("of activities there.") stays small. Without it, the text is
    taken to begin a sentence, with no space before those marks.
    """
    marks = {m.group(1) for m in _SPACED_BEFORE.finditer(like)} if like else set()
    # French spacing: one of ; : ! ? spaced means all four are; "%" where the source spaces it.
    spaced = (set(_SPACED_MARKS[:4]) if marks - {"%"} else set()) | (marks & {"%"})
    t = re.sub(r"\s+", " ", text).strip()
    t = re.sub(r"\s+([,.;:!?%])", lambda m: (" " if m.group(1) in spaced else "") + m.group(1), t)
    t = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", t)  # ", ," -> ","
    t = re.sub(r"^[,;:.\s]+", "", t)
    t = re.sub(r"[,;:]\s*([.!?])", r"\1", t)  # "word, ." -> "word."
    t = re.sub(r"\b(a|an|the) (?=[.,;:!?]|$)", "", t, flags=re.IGNORECASE)
    # "a important" after deletions; not before a "yoo"/"wuh" sound ("a one", "a user", "a European")
    t = re.sub(r"\ba (?=[aeiouAEIOU]\w)(?!(?:one|once|uni|use|usu|uti|eu|Eu|Uni|One)\w*)", "an ", t)
    t = re.sub(r"\ban (?=[b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z]\w)", "a ", t)
    t = re.sub(r"([.!?]\s+)([a-zäöüéèàâêîôûç])", _capital_after_stop, t)
    return first_letter(t.strip(), like)


def first_letter(text: str, like: str | None) -> str:
    """``text`` with its first letter in the case it has where ``text`` comes from in ``like``.

    A text made from a sentence's start takes a capital; one made from a cue that continues a
    sentence (``like`` starts with a small letter) stays small, also when a cut took its first
    words ("and so we go" -> "we go"), unless its first word began a sentence of ``like`` (a cut
    took the sentence before it) or is written with a capital there ("Python", "I", a German
    noun). Without ``like``, the text begins a sentence.
    """
    word = _FIRST_WORD.match(text)
    if word is None:
        return text
    capital = text[0].upper() + text[1:]
    if like is None:
        return capital
    first = re.search(r"[^\W_]", like)
    if first is None or not first.group(0).islower():
        return capital  # the source begins a sentence (a capital, or a number)
    pattern = rf"(?<![\w'’]){re.escape(word.group(0))}(?![\w'’])"  # as written first ("In" after a stop)
    found = re.search(pattern, like) or re.search(pattern, like, re.IGNORECASE)
    if found is None:
        return text[0].lower() + text[1:]  # a word the source does not have (an LM's): small, as it starts
    if any(not _ABBREVIATION_END.search(like[: end.end()]) for end in _SENTENCE_END.finditer(like, 0, found.start())):
        return capital  # a cut took the sentences before it: this one begins a sentence
    return (text[0].upper() if like[found.start()].isupper() else text[0].lower()) + text[1:]


_TABLES = {True: _build(reading=True), False: _build(reading=False)}
RULE_LANGUAGES = frozenset(_TABLES[True])  # the languages with shortening rules

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_in(text: str, language: str) -> set[str]:
    """The numbers a text states, as digits ("twenty-five" counts as 25 in English)."""
    if normalize_language(language) == "en":
        text = _numbers_en(text)
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


# Every way of writing a percentage ("20 percent", "20 per cent", "20 %", "20%", "20 Prozent",
# "20 pour cent", "20 por ciento", "20 per cento") says the same fact.
_PERCENT = re.compile(r"(\d)\s*(?:%|(?:percent|per\s+cent|prozent|pour\s*cent|por\s+cien(?:to)?|per\s+cento|"
                      r"por\s+cento|procent)(?![\w'’]))", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _all_digits(match: re.Match[str]) -> str:
    words = [w for w in re.split(r"[\s-]+", match.group(0).lower()) if w and w != "and"]
    value = _parse_number_words(words)
    return match.group(0) if value is None else str(value)


def fact_form(text: str, language: str) -> str:
    """``text`` with its numbers in one spelling, to compare the facts of two texts: every
    percentage as "N percent", thousands without separators ("10,000" -> "10000") and, in
    English, number words as digits ("twenty percent" -> "20 percent", "five" -> "5")."""
    if normalize_language(language) == "en":
        text = _NUMBER_RUN.sub(_all_digits, text)
    return _PERCENT.sub(r"\1 percent", _THOUSANDS.sub("", text))


def rule_candidates(text: str, language: str, *, reading: bool = True) -> list[tuple[str, str]]:
    """Cumulative rule levels applied to ``text``: ``[(level, text), ...]``, changed ones only.

    Each level includes the ones before it; a level that changes nothing is left out. With
    ``reading=False`` (speech) abbreviations and symbols are not used. Languages without rules
    give an empty list.
    """
    rules = _TABLES[reading].get(normalize_language(language))
    if rules is None:
        return []
    out: list[tuple[str, str]] = []
    current = text
    for level in LEVELS:
        if level == "phrases":
            current = _apply(current, rules.phrases)
        elif level == "style":
            for step in rules.style:
                current = tidy(step(current), like=current)
        else:
            current = _apply(current, rules.hedges)
        if current and current != text and (not out or out[-1][1] != current):
            out.append((level, current))
    return out


_CLAUSE_BREAK = re.compile(r"\s*(?:;|:|,\s+(?=(?:and|but|so|which|because|while|where|although|since|"
                           r"et|mais|donc|und|aber|weil|y|pero|porque|e|ma|perché)\b)|\s+[–—]\s+)")


def trims(text: str) -> list[str]:
    """Extractive candidates: without brackets, without asides between dashes, leading clauses.

    These drop content; callers must check that the meaning is kept (the sentence fitter's floor).
    """
    out: list[str] = []

    def add(t: str) -> None:
        t = tidy(t, like=text)
        if t and t != text and t not in out and len(t.split()) >= 3:
            out.append(t)

    add(re.sub(r"\s*\([^()]*\)", "", text))
    add(re.sub(r"\s+[–—]\s+[^–—]+\s+[–—]\s+", " ", text))
    parts = [p for p in _CLAUSE_BREAK.split(text) if p]
    end = text.rstrip()[-1:] if text.rstrip()[-1:] in ".!?" else ""
    for k in range(len(parts) - 1, 0, -1):
        head = " ".join(parts[:k]).rstrip(",;: ")
        add(head + end if head[-1:] not in ".!?" else head)
    return out


# --- deletions (English) -------------------------------------------------------------------

# Words whose removal flips or narrows the meaning: a deletion never touches them.
_KEEP = frozenset(
    "not n't never no none nothing nobody nowhere neither nor without except unless only cannot "
    "can't don't doesn't didn't isn't aren't wasn't weren't won't wouldn't shouldn't couldn't "
    "mustn't hasn't haven't hadn't least most one two three four five six seven eight nine ten eleven "
    "twelve".split()
)
_ADVERBS = frozenset(
    "always usually often sometimes normally typically generally still already also even together "
    "again immediately automatically directly later then properly carefully quickly "
    "slowly suddenly easily completely fully exactly correctly simply finally currently recently "
    "actually really very quite greatly closely evenly regularly".split()
)
_NOT_ADVERBS = frozenset(
    "only early family apply reply supply rely assembly italy july ugly likely unlikely daily weekly "
    "monthly yearly friendly lonely lovely silly holy belly jelly bully rally ally fly reply".split()
)
_PREPOSITIONS = frozenset(
    "at in on for from with into onto across along through during within by after before over under "
    "inside outside around about throughout between among towards toward behind beyond".split()
)
# Words whose preposition belongs to them ("based on", "depends on"): not a phrase to drop.
_BOUND = frozenset(
    "based depend depends relies rely consist consists refer refers belong belongs result results "
    "focus focuses lead leads led turn turns deal deals come comes came apply applies applied".split()
)
# These also open clauses ("before they can be paid"): a phrase after them has no clear end.
_CONJUNCTIVE_PREPOSITIONS = frozenset({"after", "before"})
# A phrase ends before punctuation, a conjunction, a relative word or another preposition.
_PHRASE_STOPS = frozenset(
    "and or but so because while when whenever if unless which that who whose where whereas "
    "although though until since as than".split()
) | _PREPOSITIONS
_DETERMINERS = frozenset(
    "a an the this that these those you we they i he she it there your our my his her its their "
    "all some each every any".split()
)
_AUXILIARIES = frozenset("is are was were has have had can could will would should may might must do does did".split())
# Adverbial phrases dropped on their own, like the single adverbs.
_ADVERBIAL_PHRASES = ("as well", "at a glance", "in advance", "at once", "straight away", "right away")
_CLAUSE_OPENERS = (
    "whenever", "wherever", "no matter", "instead of", "rather than", "which", "who", "whose", "where", "so that", "for example",
    "for instance", "e.g.", "such as", "including", "especially",
)
_TOKEN = re.compile(r"[\w'’.-]*\w|[^\w\s]")


def deletions(text: str, language: str, *, max_words: int = 10) -> list[str]:
    """Single-span deletions of ``text``: adverbs, prepositional phrases, relative and trailing
    clauses, asides between commas. English only (other languages: an empty list).

    Each drops content, never a negation or a number; callers rank them by meaning kept (the
    sentence fitter searches them greedily under its similarity floor).
    """
    if normalize_language(language) != "en":
        return []
    tokens = _TOKEN.findall(text)
    lower = [t.lower() for t in tokens]
    spans: set[tuple[int, int]] = set()
    n = len(tokens)

    def word(k: int) -> bool:
        return k < n and tokens[k][0].isalnum()

    for i, w in enumerate(lower):
        if not word(i):
            continue
        if w in _ADVERBS or (len(w) >= 6 and w.endswith("ly") and not w.endswith("ply") and w not in _NOT_ADVERBS):
            spans.add((i, i + 1))
        for phrase in _ADVERBIAL_PHRASES:
            if lower[i : i + len(phrase.split())] == phrase.split():
                spans.add((i, i + len(phrase.split())))
        if (i > 0 and w in _PREPOSITIONS - _CONJUNCTIVE_PREPOSITIONS and word(i + 1)
                and lower[i + 1] not in (_PHRASE_STOPS | _AUXILIARIES) - {"that"}):
            # A prepositional phrase runs to a break, a conjunction or another preposition ("of"
            # goes on). Without a parser its end is a guess, so the phrase is taken only when it
            # ends there within six words (not at a verb: "within a few decades ideas could ...").
            j = i + 2
            while word(j) and j - i < 6 and not _ends_phrase(lower[j]):
                j += 1
            # "by looking at a few examples": a gerund takes its own objects, so the phrase does
            # not end at the next preposition; cutting "by looking" would leave "at a few examples".
            gerund = len(lower[i + 1]) > 4 and lower[i + 1].endswith("ing")
            if (not word(j) or lower[j] in _PHRASE_STOPS - {"and", "or"}) and lower[i - 1] not in _BOUND and not (
                    gerund and word(j)):
                if j + 1 < n and tokens[j] == "," and lower[j + 1] in {"a", "an", "the"}:
                    # "at CWI, a Dutch research institute": the appositive names the phrase's
                    # object and goes with it, or it would dangle.
                    j += 1
                    while j < n and tokens[j] not in {",", ";", ":", ".", "!", "?"}:
                        j += 1
                spans.add((i, j))
        opener = next((o for o in _CLAUSE_OPENERS if lower[i : i + len(o.split())] == o.split()), None)
        # "the terms that contain x", but not "change that value" (a demonstrative) nor "so that".
        relative = (w == "that" and i > 0 and lower[i - 1] not in _PREPOSITIONS | {"so", "such"}
                    and word(i + 1) and (lower[i + 1] in _AUXILIARIES or re.fullmatch(r"[a-z]+(?:s|ed)", lower[i + 1]) is not None))
        if i > 0 and (opener or relative):
            j = i + 1
            while j < n and tokens[j] not in {",", ";", ":", ".", "!", "?", "—", "–"}:
                j += 1
            if j - i <= max_words:
                spans.add((i - 1, j) if tokens[i - 1] == "," else (i, j))
        if w == "," and i > 0:  # an aside between commas
            j = i + 1
            while j < n and tokens[j] not in {",", ";", ":", ".", "!", "?"}:
                j += 1
            if j < n and tokens[j] == "," and 1 <= j - i - 1 <= max_words and lower[i + 1] not in {"and", "or", "but", "so"}:
                spans.add((i, j))
    out: list[str] = []
    for i, j in sorted(spans):
        words = " ".join(lower[i:j]).replace("no matter", "").split()
        if any(w in _KEEP or w.endswith("n't") or any(c.isdigit() for c in w) for w in words):
            continue
        candidate = _detokenize(tokens[:i] + tokens[j:], like=text)
        if candidate and candidate != text and candidate not in out and len(candidate.split()) >= 3:
            out.append(candidate)
    return out


def _ends_phrase(word: str) -> bool:
    # A conjunction, relative word or other preposition ends it ("of" continues it); a verb form
    # or participle ends it too, and then it is not taken (the noun phrase's end is unclear).
    return ((word in _PHRASE_STOPS and word != "of") or word in _AUXILIARIES
            or (len(word) > 4 and (word.endswith("ed") or word.endswith("ing"))))


def _detokenize(tokens: Sequence[str], like: str) -> str:
    return tidy(" ".join(tokens), like=like)
