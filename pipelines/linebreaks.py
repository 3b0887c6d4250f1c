"""Where a subtitle may break, and how to lay a cue's words out in lines.

Subtitle style guides (Netflix, BBC, and theirs for German, French, Spanish, Italian and
Portuguese) ask for breaks after punctuation and before conjunctions
or prepositions, and never between an article and its noun, an adjective and its noun, a first
and a last name, a pronoun and its verb, a verb and its auxiliary or reflexive pronoun, or a
verb and the preposition that belongs to it ("looks like", "want to", "kind of": the one case
where a break before a preposition is a bad one). Without a tagger we use word lists and
shapes; the costs are soft, so a rule gives way only when nothing else fits.

Words join with a space, except where either side is in a script written without spaces
(Chinese, Japanese, Thai, Lao, Myanmar, Khmer; ``join_words``): Whisper's words there are
characters or short runs, and a line of Chinese is their characters side by side.

``layout_lines`` is the one layout: the segmenter lays out its cues with it and the fit lays out
and counts the lines of a rewritten text with it (``wrap_lines``). Only text that no layout fits
(more text than the lines hold, a word longer than a line, text without spaces) falls back to
filling lines one after another, which needs the fewest lines.
"""

from __future__ import annotations

import functools
import itertools
import re
import textwrap
import unicodedata
from collections.abc import Sequence

ARTICLES = frozenset(
    "a an the this that these those my your his her its our their some any no every each".split()
)
PRONOUNS = frozenset("i you he she it we they who".split())
CONJUNCTIONS = frozenset(
    "and but or nor so yet because although though while whereas which that who when where if unless "
    "since until whether then".split()
)
PREPOSITIONS = frozenset(
    "in on at to for with from of by about into onto over under after before through during without "
    "within between across against along among around behind beyond near toward towards upon via per "
    "outside inside like than beside besides except".split()
)
AUXILIARIES = frozenset(
    "am is are was were be been being have has had do does did will would shall should can could may "
    "might must not don't doesn't didn't won't can't isn't aren't wasn't weren't".split()
)
# The same rules in the other languages the fit and the translation merge lay out (German, French,
# Spanish, Italian, Portuguese): their articles and determiners, prepositions and conjunctions. A word
# that is also a common English word of another kind is left out ("son", "car", "um", "pour", "do"), and
# so are single letters ("y", "o": variables in a lecture).
ARTICLES |= frozenset(
    "der die das den dem des ein eine einen einem einer eines kein keine dieser diese dieses "
    "le la les un une du au aux ce cet cette ces mon ma mes ton ta tes sa ses notre nos votre vos leur leurs "
    "el los las unos unas lo del al este esta estos estas ese esa esos esas mi mis tu tus su sus "
    "il gli uno dello della dei degli delle allo alla ai agli alle dal dalla nel nella nei sul sulla "
    "os as um uma uns umas da dos das na nas ao aos pelo pela".split()
)
PREPOSITIONS |= frozenset(
    "mit von zu bei nach aus für über unter vor hinter neben zwischen durch gegen ohne bis seit während "
    "wegen im zum zur vom beim ins ans de à dans sur sous avec par sans chez vers entre depuis pendant "
    "avant après contre en con por para sin sobre hacia hasta desde según durante di tra fra em com sem "
    "até".split()
)
CONJUNCTIONS |= frozenset(
    "und oder aber denn sondern dass weil wenn als ob obwohl damit bevor nachdem sodass et ou mais donc "
    "ni que qui quand si comme lorsque puisque pero porque cuando como aunque pues che perché se "
    "anche mas quando".split()
)
FUNCTION_WORDS = ARTICLES | PRONOUNS | CONJUNCTIONS | PREPOSITIONS | AUXILIARIES
ADJECTIVE_ENDINGS = ("al", "ful", "ous", "ive", "able", "ible", "ic", "less", "ish", "ant", "ent", "ary", "y")
COMMON_ADJECTIVES = frozenset(
    "new old good bad big small large great little long short high low first last next other same "
    "main important simple easy hard right left open red green blue white black free full only early "
    "likely friendly lovely ugly daily weekly monthly yearly costly".split()
)
# adverbs that qualify the word after them ("very // small", "too // much")
INTENSIFIERS = frozenset("very too quite really pretty rather extremely fairly totally completely".split())
NEGATIONS = frozenset("not never n't".split())
OBJECT_PRONOUNS = frozenset("me him us them".split())  # "tell // me": a verb and its object (you, it, her: also subjects)
REFLEXIVES = frozenset("myself yourself himself herself itself ourselves yourselves themselves".split())
# a word and the preposition or particle after it that belong together: a verb and its infinitive's
# "to" ("want to", "going to", "have to"), a verb of seeming and its "like", a quantity and its "of"
# ("kind of", "a lot of"), a compound preposition ("because of", "according to", "rather than")
BOUND_BEFORE = {
    "to": frozenset(
        "want wants wanted wanting going gonna need needs needed have has had got having able unable used "
        "supposed ought try tries tried trying seem seems seemed start starts started starting begin begins "
        "began decide decides decided plan plans planned hope hopes hoped expect expects expected continue "
        "continues continued like likes liked love loves loved hate hates prefer learn learns learned "
        "according due next close similar thanks".split()
    ),
    "of": frozenset(
        "kind kinds sort sorts lot lots bunch couple bit out because instead ahead regardless "
        "inside outside full made aware afraid".split()
    ),
    "like": frozenset("look looks looked looking sound sounds sounded feel feels felt seem seems seemed "
                      "something anything nothing more".split()),
    "than": frozenset("more less rather other fewer better worse larger smaller greater faster slower".split()),
    "with": frozenset("deal deals dealt dealing agree agrees agreed along together familiar".split()),
    "on": frozenset("depend depends depending rely relies focus focuses based".split()),
    "about": frozenset("think thinks thought thinking talk talks talked talking care cares worry worried".split()),
    "for": frozenset("wait waits waited waiting look looks looked looking ask asks asked pay pays paid".split()),
    "at": frozenset("look looks looked looking".split()),
}
# a full stop that ends an abbreviation, not a sentence: a title keeps its name on its line
TITLES = frozenset("mr. mrs. ms. dr. prof. st. mt. jr. sr. gen. sen. rep. gov. capt. lt. col. sgt. rev.".split())
ABBREVIATIONS = frozenset("e.g. i.e. vs. approx. fig. vol. ch. sec. cf. ca.".split())  # not "no.": "No. // Not if ..."
SENTENCE_END = -3.0  # the cost of a break after a sentence's end: the best place there is
_STRIP = re.compile(r"^[\"'“‘(\[]+|[\"'”’)\].,;:!?…]+$")


def _bare(word: str) -> str:
    return _STRIP.sub("", word).lower()


def _is_capitalised(word: str) -> bool:
    core = _STRIP.sub("", word)
    return bool(core) and core[0].isupper() and core.lower() != "i"


@functools.lru_cache(maxsize=65536)
def break_cost(left: str, right: str) -> float:
    """Cost of breaking between two words (negative: a good place; large: avoid).

    Cached: the segmenter and the layout ask for the same word pairs many times over."""
    lb, rb = _bare(left), _bare(right)
    if left.lower() in TITLES or (lb == "no" and left.endswith(".") and right[:1].isdigit()):
        return 4.0  # "Mr. // Smith", "No. // 5": this full stop ends no sentence
    if left.lower() in ABBREVIATIONS:
        return 1.0
    if left.endswith((".", "?", "!", "…", '."', '?"', '!"', "。", "？", "！", "。」", "！」", "？」")):
        return SENTENCE_END
    if left.endswith((",", ";", ":", "—", "–", "，", "、", "；", "：")) or right.startswith(("—", "–", "-")):
        return -1.5
    if lb in ARTICLES and lb != "that":
        return 5.0
    if lb in PRONOUNS and rb not in CONJUNCTIONS and rb not in PREPOSITIONS:
        return 4.0
    if _is_capitalised(left) and _is_capitalised(right):
        return 4.0  # first and last name, or a multi-word product name
    if lb in BOUND_BEFORE.get(rb, ()) or rb in REFLEXIVES:
        return 3.0  # "looks // like", "want // to", "kind // of", "taught // myself"
    if rb in NEGATIONS or rb in OBJECT_PRONOUNS:
        return 2.5  # "is // not", "tell // me"
    if lb in AUXILIARIES and rb not in PREPOSITIONS and rb not in CONJUNCTIONS and rb not in ARTICLES:
        return 2.5  # "have // been"; a copula before its complement ("to be // in the room") is a break like any
    if lb in PREPOSITIONS or lb in CONJUNCTIONS:
        return 2.5
    if (
        lb in COMMON_ADJECTIVES or lb in INTENSIFIERS
        or (lb.endswith(ADJECTIVE_ENDINGS) and not lb.endswith("ly") and len(lb) > 4)
    ) and rb not in FUNCTION_WORDS:
        return 3.0
    if rb in CONJUNCTIONS:
        return -1.0
    if rb in PREPOSITIONS:
        return -0.5
    if lb.isdigit() and not rb.isdigit():
        return 2.0  # keep a number with its unit
    return 1.0


def _unspaced(ch: str) -> bool:
    """Whether ``ch`` belongs to a script written without spaces between words (Han, kana, Thai,
    Lao, Myanmar, Khmer) or is their full-width punctuation; Hangul is written with spaces."""
    o = ord(ch)
    return (0x3000 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF
            or 0xFF00 <= o <= 0xFF65 or 0x31F0 <= o <= 0x31FF or 0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F
            or 0x1780 <= o <= 0x17FF or 0x20000 <= o <= 0x2FA1F)


def joins_tight(left: str, right: str) -> bool:
    """Whether two words are written without a space between them (see ``join_words``)."""
    return bool(left) and bool(right) and (_unspaced(left[-1]) or _unspaced(right[0]))


def separators(words: Sequence[str]) -> list[int]:
    """The characters written before each word: 0 for the first and between words joined tight,
    else 1 (a space)."""
    return [0] * bool(words) + [0 if joins_tight(a, b) else 1 for a, b in itertools.pairwise(words)]


def join_words(words: Sequence[str]) -> str:
    """``words`` as written: a space between them, none where either side is Chinese, Japanese,
    Thai... ("用", "Python", "写" -> "用Python写"; "42-line", "Bible" -> "42-line Bible")."""
    return "".join((" " * sep) + w for sep, w in zip(separators(words), words, strict=True))


def layout_lines(words: list[str], max_chars: int, max_lines: int) -> tuple[tuple[str, ...], float] | None:
    """Best split of ``words`` into at most ``max_lines`` lines of at most ``max_chars``.

    Returns the lines and their cost, or None when no split fits (a word longer than a line,
    or too much text).
    """
    n = len(words)
    seps = separators(words)
    total = sum(len(w) for w in words) + sum(seps)
    if total <= max_chars:
        return (join_words(words),), 0.0
    if max_lines == 1:
        return None
    ideal = total / 2
    breaks = [break_cost(words[i - 1], words[i]) for i in range(1, n)]  # breaks[i - 1]: after word i - 1
    if max_lines == 2:
        return _two_lines(words, seps, breaks, max_chars, ideal)
    return _search_lines(words, seps, breaks, max_chars, max_lines, ideal)


def _shape_cost(top: int, ideal: float, brk: float) -> float:
    """Cost of a first line ``top`` characters long, broken at a break costing ``brk``, where
    half the text is ``ideal``: balanced lines, a slightly longer bottom line reading best, and a
    bottom line under a quarter of the top one (a word left over: "... to do // so.") avoided
    almost as a bad break is, unless a sentence ends there ("... believe it. // - What?")."""
    bottom = 2 * ideal - top - 1
    orphan = 4 * bottom < top and brk > SENTENCE_END
    return 0.04 * abs(top - ideal) + (0.2 if top > ideal + 1 else 0.0) + (1.5 if orphan else 0.0)


def _search_lines(words: list[str], seps: list[int], breaks: list[float], max_chars: int, max_lines: int,
                  ideal: float) -> tuple[tuple[str, ...], float] | None:
    """``layout_lines`` for any number of lines: dynamic programming over the break points."""
    n = len(words)
    # best[k][i]: cheapest layout of words[:i] in k lines
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(max_lines + 1)]
    back = [[0] * (n + 1) for _ in range(max_lines + 1)]
    best[0][0] = 0.0
    for k in range(1, max_lines + 1):
        for i in range(1, n + 1):
            length = 0
            for j in range(i - 1, -1, -1):
                length += len(words[j]) + (seps[j + 1] if j + 1 < i else 0)
                if length > max_chars:
                    break
                if best[k - 1][j] == inf:
                    continue
                cost = best[k - 1][j]
                if i < n:
                    cost += breaks[i - 1]
                    if k == 1:
                        cost += _shape_cost(length, ideal, breaks[i - 1])
                if cost < best[k][i]:
                    best[k][i], back[k][i] = cost, j
    options = [(best[k][n], k) for k in range(1, max_lines + 1) if best[k][n] < inf]
    if not options:
        return None
    cost, k = min(options)
    lines: list[str] = []
    i = n
    while k > 0:
        j = back[k][i]
        lines.append(join_words(words[j:i]))
        i, k = j, k - 1
    return tuple(reversed(lines)), cost


def _two_lines(words: list[str], seps: list[int], breaks: list[float], max_chars: int,
               ideal: float) -> tuple[tuple[str, ...], float] | None:
    """``layout_lines`` for two lines (the common case), in one pass over the split points: the
    same costs and the same choice among equal ones (the latest split) as the general search."""
    n = len(words)
    top = [0] * (n + 1)  # top[j]: characters of words[:j] joined
    for j in range(1, n + 1):
        top[j] = top[j - 1] + len(words[j - 1]) + seps[j - 1]
    total = top[n]
    best, split = float("inf"), 0
    for j in range(n - 1, 0, -1):
        if top[j] > max_chars:
            continue
        if total - top[j] - seps[j] > max_chars:
            break  # the bottom line only grows as the split moves left
        cost = breaks[j - 1] + _shape_cost(top[j], ideal, breaks[j - 1])
        if cost < best:
            best, split = cost, j
    if not split:
        return None
    return (join_words(words[:split]), join_words(words[split:])), best


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def wrap_lines(text: str, max_chars: int, max_lines: int) -> list[str]:
    """The lines ``text`` shows in: ``layout_lines``'s best layout in up to ``max_lines`` lines.

    When no layout fits, the fewest lines of at most ``max_chars`` (filled at spaces; at
    characters for text without spaces, such as Japanese), more than ``max_lines`` or with an
    over-long word on its own, so a caller can count what the text needs.
    """
    flat = " ".join(text.split())
    if not flat:
        return []
    laid = layout_lines(flat.split(" "), max_chars, max_lines)
    if laid is not None:
        return list(laid[0])
    if " " not in flat and any(_is_cjk(c) for c in flat):
        return [flat[i : i + max_chars] for i in range(0, len(flat), max_chars)]
    return textwrap.wrap(flat, width=max_chars, break_long_words=False, break_on_hyphens=False)
