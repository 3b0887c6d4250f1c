"""Line layout: the one algorithm the segmenter, the fit and the translation merge share."""

from __future__ import annotations

from pipelines.linebreaks import join_words, layout_lines, separators, wrap_lines


def test_wrap_lines_handles_text_without_spaces() -> None:
    assert wrap_lines("今日はアカウントの設定を行います", 5, 2) == ["今日はアカ", "ウントの設", "定を行いま", "す"]


def test_wrap_lines_is_the_best_layout_when_one_fits() -> None:
    text = "Open the settings page of your account and choose a new password"
    laid = layout_lines(text.split(), 42, 2)
    assert laid is not None
    assert wrap_lines(text, 42, 2) == list(laid[0]) == ["Open the settings page of your account", "and choose a new password"]


def test_wrap_lines_counts_the_fewest_lines_when_none_fits() -> None:
    text = " ".join(["word"] * 30)  # 149 chars
    assert layout_lines(text.split(), 42, 2) is None
    lines = wrap_lines(text, 42, 2)
    assert len(lines) == 4 and all(len(line) <= 42 for line in lines)
    assert wrap_lines("a supercalifragilisticexpialidocious word", 10, 2) == [
        "a", "supercalifragilisticexpialidocious", "word"]
    assert wrap_lines("  \n ", 42, 2) == []
    assert join_words([]) == "" and separators([]) == []


def test_two_line_layout_makes_the_same_choice_as_the_general_search() -> None:
    """The one-pass two-line layout (the segmenter's hot path) must cost and split exactly as the
    dynamic programming over break points does, ties included."""
    import random

    from pipelines.linebreaks import _search_lines, _two_lines, break_cost, separators

    vocabulary = ("the a to of and Export as PDF, settings. you it click button menu on in "
                  "Northwind Contoso 42 files? I we very small 我们 用 设置。 の 画面 を").split()
    rng = random.Random(11)
    compared = 0
    for _ in range(2000):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(2, 16))]
        max_chars = rng.choice((20, 32, 37, 42))
        seps = separators(words)
        total = sum(len(w) for w in words) + sum(seps)
        if total <= max_chars:
            continue
        breaks = [break_cost(words[i - 1], words[i]) for i in range(1, len(words))]
        assert (_two_lines(words, seps, breaks, max_chars, total / 2)
                == _search_lines(words, seps, breaks, max_chars, 2, total / 2)), words
        compared += 1
    assert compared > 1000


def test_a_verb_keeps_the_preposition_that_belongs_to_it() -> None:
    """Netflix's rule: a line break does not separate a prepositional verb from its preposition.
    Before it, a break before any preposition was a good one: "That's kind // of like ...",
    "I just want // to start ...", "... looks // like." (sentences of the real CS50 lectures)."""
    assert wrap_lines("That's kind of like a router interconnects things.", 42, 2) == [
        "That's kind of like a router", "interconnects things."]
    assert wrap_lines("I just want to start writing code in my logic.", 42, 2) == [
        "I just want to start writing code", "in my logic."]
    assert wrap_lines("So that's what my computer's memory looks like in this program.", 42, 2) == [
        "So that's what my computer's", "memory looks like in this program."]
    # a preposition that starts its own phrase is still a good place to break
    assert wrap_lines("You don't have to repeat the attribute at the end of the line.", 42, 2) == [
        "You don't have to repeat the attribute", "at the end of the line."]


def test_a_verb_keeps_its_negation_reflexive_and_object_pronoun() -> None:
    """Before, each of these broke between the two words (as in sentences of the real lectures)."""
    for text, bad in (("And a cache tends not to be such a good idea.", ("tends", "not")),
                      ("The first thing I did was to teach myself how the debugger works.", ("teach", "myself")),
                      ("And you do not have to declare them explicitly.", ("declare", "them"))):
        top, bottom = wrap_lines(text, 42, 2)
        assert (top.split()[-1], bottom.split()[0]) != bad, (top, bottom)


def test_no_word_is_left_alone_on_the_bottom_line() -> None:
    """A bottom line under a quarter of the top one is the worst shape; a comma, a conjunction or a
    preposition before it no longer outweighs that ("... print one line // of text.")."""
    top, bottom = wrap_lines("And all the loop does is print one line of text.", 42, 2)
    assert 4 * len(bottom) >= len(top), (top, bottom)
    # a sentence's end is still the place to break, however short the line after it
    assert wrap_lines("- Well, you're not gonna believe it. - What?", 42, 2) == [
        "- Well, you're not gonna believe it.", "- What?"]
    assert wrap_lines("What, you're picking somebody else up? Oh, man.", 42, 2) == [
        "What, you're picking somebody else up?", "Oh, man."]


def test_french_and_spanish_keep_an_article_with_its_noun() -> None:
    """The rules were English words only, yet the fit and the translation merge lay out German,
    French and Spanish: lines ended on "la", "los", "die" (9 of 38 two-line layouts of the real
    FLEURS and German transcripts; none now)."""
    assert wrap_lines("Vous pouvez maintenant ouvrir la page des paramètres de votre compte.", 42, 2) == [
        "Vous pouvez maintenant ouvrir", "la page des paramètres de votre compte."]
    assert wrap_lines("Los participantes deben descargar los documentos antes de la primera clase.", 42, 2) == [
        "Los participantes deben descargar", "los documentos antes de la primera clase."]
    # a single letter stays a variable in an English lecture: "x is less than y // in that case"
    top, _ = wrap_lines("We're going to say x is less than y in that case.", 42, 2)
    assert top == "We're going to say x is less than y"


def test_a_title_s_full_stop_is_no_sentence_end_but_no_is() -> None:
    from pipelines.linebreaks import SENTENCE_END, break_cost

    assert break_cost("Mr.", "Smith") > 0 and break_cost("e.g.", "Python") > 0 and break_cost("No.", "5") > 0
    # "No." ends a sentence in dialogue (real Seinfeld transcript: "... a clown? No. // Not if ...")
    assert break_cost("No.", "Not") == SENTENCE_END
    assert wrap_lines("- No, they don't. No. - Oh, yes, they do, Elaine.", 42, 2) == [
        "- No, they don't. No.", "- Oh, yes, they do, Elaine."]
