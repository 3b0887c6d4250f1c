"""Spoken-language cuts: fillers, hedges, openers, signposts, repeats and false starts go first."""

from __future__ import annotations

import pytest

from pipelines.fit.spoken import spoken_cuts, strip_openers


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("So, as we discussed in the previous lecture, the heap is a tree.", "The heap is a tree."),
        ("All right, so, um, let me go ahead and open this file.", "Let me open this file."),
        ("And so let's look at this piece of hardware.", "Let's look at this piece of hardware."),
        ("Well, it turns out that we can kind of do better.", "We can do better."),
        ("So what we're going to do is take a look at the code.", "We'll take a look at the code."),
        ("You need-- you need to put something in particular locations.",
         "You need to put something in particular locations."),
        ("This is just memory, you know, the the thing on the board.", "This is just memory, the thing on the board."),
        ("The loop stops at the end, right?", "The loop stops at the end."),
        ("I think the answer is basically 42.", "The answer is 42."),
        ("As I said earlier, the array is pretty big.", "The array is big."),
        ("This turns out to be helpful.", "This is helpful."),
        ("Well, turns out there's one other piece of syntax.", "There's one other piece of syntax."),
        ("For example, let's take a moment and try to visualize it.", "Let's try to visualize it."),
        ("If the vectors just so happen to be eigenvectors, it works.", "If the vectors are eigenvectors, it works."),
        ("We store a whole bunch of bytes inside of memory.", "We store lots of bytes inside memory."),
    ],
)
def test_fillers_and_signposts_are_cut(spoken: str, written: str) -> None:
    assert spoken_cuts(spoken) == written


@pytest.mark.parametrize(
    "kept",
    [
        "So many people think this is hard.",          # "so" as a degree word
        "Right now we have 5 of them.",                # "right now" is a time
        "Now is a good time to pause.",                # "now" is the subject
        "So that the loop ends, we count down.",       # purpose, not an opener
        "I know that that is wrong.",                  # "that that" can be right
        "What kind of data does the table hold?",      # "kind of" as a noun phrase
    ],
)
def test_words_that_only_look_like_fillers_stay(kept: str) -> None:
    assert spoken_cuts(kept) == kept


def test_negations_and_numbers_are_never_cut() -> None:
    out = spoken_cuts("Well, you know, it actually doesn't take 3 seconds, right?")
    assert "n't" in out and "3" in out
    assert out == "It doesn't take 3 seconds."


def test_openers_are_stripped_repeatedly() -> None:
    assert strip_openers("And so, well, okay, the list is sorted.") == "the list is sorted."
    assert strip_openers("But the list is sorted.") == "But the list is sorted."


def test_a_cue_that_continues_a_sentence_stays_small() -> None:
    """A cue that starts mid-sentence ("so, you know, ...") was given a capital when its opener went."""
    assert spoken_cuts("so, you know, we basically have to go.") == "we have to go."
    assert spoken_cuts("So, you know, we basically have to go.") == "We have to go."
