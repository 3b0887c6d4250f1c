"""Words a caption line ran together, split with the language's word frequencies (real wordfreq lists)."""

from __future__ import annotations

import pytest

from pipelines.ocr.word_spacing import restore_apostrophe, split_run_together, split_token


@pytest.mark.parametrize(("read", "meant"), [
    ("Pressit now", "Press it now"),
    ("Signit here.", "Sign it here."),
    ("checkthe log file", "check the log file"),
    ("Openthe settings page", "Open the settings page"),
    ("Doit now", "Do it now"),  # "doit" is in the list, 100 times rarer than "do it"
    ("(Testit)", "(Test it)"),  # punctuation around the token stays where it was
    ("SAVEIT NOW", "SAVE IT NOW"),  # the letters' case is kept
    ("Gotothe menu", "Go to the menu"),  # unknown to the list: its parts are common words
])
def test_words_run_together_are_split(read: str, meant: str) -> None:
    assert split_run_together(read, ("en",)) == meant


@pytest.mark.parametrize("line", [
    "into the notebook",  # "into" is likelier than "in to"
    "Tick the checkbox",  # a rare word is likelier than its parts together
    "Log out via Logout",
    "Ian is here",  # a one-letter part needs a hundredfold margin: a name stays
    "Karina, Mathilda and Leon",  # names the list does not know, not made of common words
    "JupyterLab and GitHub",
    "Offboarding in Freshdesk",  # unknown to the list, but their parts are not common enough
    "I'm okay. It's two, right?",  # an apostrophe inside: not a run of letters
    "Version 3.11 on x86",
])
def test_words_and_names_stay(line: str) -> None:
    assert split_run_together(line, ("en",)) == line


@pytest.mark.parametrize(("read", "meant"), [
    ("every fi le it copied", "every file it copied"),  # the fi ligature's glyph read as a word
    ("con fi rm the order", "confirm the order"),  # split on both sides: all three joined
    ("confi rm it", "confirm it"),  # a rare piece ending in the ligature
    ("the sta ff room", "the staff room"),
    ("the fl oor is wet", "the floor is wet"),
])
def test_a_word_a_ligature_split_is_joined(read: str, meant: str) -> None:
    assert split_run_together(read, ("en",)) == meant


@pytest.mark.parametrize("line", ["log in to the system", "take it off line", "cliff lines", "if I fall"])
def test_words_are_joined_only_at_a_ligature(line: str) -> None:
    assert split_run_together(line, ("en",)) == line


def test_only_latin_letters_are_split() -> None:
    assert split_run_together("我要去杂货店 Pressit", ("en",)) == "我要去杂货店 Press it"
    assert split_run_together("ВОРОТАоткрыты", ("en",)) == "ВОРОТАоткрыты"


def test_a_language_without_a_list_leaves_the_line() -> None:
    assert split_run_together("Pressit", ("xx",)) == "Pressit"


def test_the_list_that_knows_the_line_is_used() -> None:
    # French first, but the line is English: the English list knows more of its words.
    assert split_run_together("Please checkthe log file", ("fr", "en")) == "Please check the log file"


def test_split_token_gives_the_parts_in_order() -> None:
    frequencies = {"press": 1e-4, "it": 1e-2, "now": 1e-3}  # Zipf 5, 7 and 6
    assert split_token("Pressitnow", frequencies) == ["Press", "it", "now"]
    assert split_token("Pressitnow", {"press": 1e-6, "it": 1e-5, "now": 1e-5}) == ["Pressitnow"]  # Zipf 3, 4, 4
    assert split_token("Pressit", {"press": 1e-4, "it": 1e-2, "pressit": 1e-4}) == ["Pressit"]  # not 10x likelier


@pytest.mark.parametrize(("read", "meant"), [
    ("Ive decided, Rem.", "I've decided, Rem."),  # vsr_rezero_en's line as PP-OCRv5 read it
    ("I dont know", "I don't know"),
    ("Youre right. Thats it!", "You're right. That's it!"),
    ("IM HERE", "I'M HERE"),  # the letters' case is kept
])
def test_an_apostrophe_the_recogniser_dropped_is_put_back(read: str, meant: str) -> None:
    assert split_run_together(read, ("en",)) == meant


@pytest.mark.parametrize("line", [
    "Its fine", "Well see", "Ill go", "Lets go", "We were here",  # words as common as the contractions
    "Je ne sais dont",  # French: "dont" is a word there
])
def test_a_word_about_as_common_as_its_contraction_stays(line: str) -> None:
    assert split_run_together(line, ("en", "fr")) == line


def test_restore_apostrophe_needs_the_word_with_it_far_likelier() -> None:
    assert restore_apostrophe("Dont", {"don't": 1e-3, "dont": 1e-5}) == "Don't"
    assert restore_apostrophe("Dont", {"don't": 1e-3, "dont": 2e-4}) == "Dont"  # only 5x likelier
    assert restore_apostrophe("Dont", {"don't": 5e-7}) == "Dont"  # rare (Zipf 2.7) even so
