"""Parser deletions on the real spaCy model: whole optional subtrees only, never the facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.fit.syntax import apply_cuts, optional_cuts, plan, protected, sentence_problem

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nlp(require_model: Any, model_dir: Path) -> Any:
    require_model("spacy-en-sm")
    from pipelines.fit.syntax import load_parser

    return load_parser(model_dir)


def test_optional_subtrees_are_offered_and_the_core_is_not(nlp: Any) -> None:
    text = ("In this case, the corresponding eigenvalue, which we call lambda, would have to be 1, "
            "since rotations never stretch anything.")
    doc = nlp(text)
    cuts = {c.text: c for c in optional_cuts(doc)}
    assert "In this case" in cuts
    assert "which we call lambda" in cuts
    for c in cuts.values():  # never the number, the negation or the main verb
        assert "1" not in c.text.split() and "never" not in c.text and "would" not in c.text
    shorter = apply_cuts(text, [cuts["In this case"], cuts["which we call lambda"]])
    assert shorter == "The corresponding eigenvalue would have to be 1, since rotations never stretch anything."
    assert sentence_problem(nlp(shorter)) == ""


def test_names_numbers_quantifiers_and_negations_are_protected(nlp: Any) -> None:
    doc = nlp("Tommy Thompson did not find all 3 ships in the CPU cache.")
    words = {doc[i].text for i in protected(doc)}
    assert {"Tommy", "Thompson", "not", "all", "3", "CPU"} <= words
    assert not any("Thompson" in c.text or "3" in c.text for c in optional_cuts(doc))


def test_every_plan_step_still_parses_as_a_sentence(nlp: Any) -> None:
    text = ("And so, basically, the computer very quickly stores the numbers in memory, "
            "which is a grid of bytes, as you saw on the screen earlier.")
    steps = plan(text, optional_cuts(nlp(text)))
    assert len(steps) >= 3
    lengths = [len(t) for t, _, _ in steps]
    assert lengths == sorted(lengths, reverse=True) and lengths[-1] < 0.75 * len(text)
    costs = [cost for _, cost, _ in steps]
    assert costs == sorted(costs)
    for t, _, _ in steps:
        assert "numbers" in t and "stores" in t, t
        assert sentence_problem(nlp(t)) == "", t


def test_an_aside_between_commas_leaves_no_stranded_comma(nlp: Any) -> None:
    text = "The heap, as we saw, is a tree."
    cut = next(c for c in optional_cuts(nlp(text)) if c.text == "as we saw")
    assert (cut.start, cut.end) == (8, 20)  # both commas go with it
    assert apply_cuts(text, [cut]) == "The heap is a tree."


@pytest.mark.parametrize(
    ("text", "problem"),
    [("The list is sorted.", ""), ("Sort the list first.", ""), ("Because the list is sorted.", "subordinate"),
     ("A list of names, in order.", "no main verb"), ("We sort the, list.", "stranded"),
     ("Is it sorted?", ""), ("It is slow, but, I think it works.", "stranded")],
)
def test_sentence_problems(nlp: Any, text: str, problem: str) -> None:
    found = sentence_problem(nlp(text))
    assert (problem in found) if problem else found == ""


def test_a_phrase_before_the_subject_of_is_may_go_but_not_the_predicate_or_an_inverted_subject(nlp: Any) -> None:
    cuts = {c.text for c in optional_cuts(nlp("If, after a transformation, j-hat is on the right of i-hat, it is inverted."))}
    assert "after a transformation" in cuts
    assert not any(c.startswith("on the right") for c in cuts)  # the predicate of "is"
    assert not {c.text for c in optional_cuts(nlp("In the middle is a whole bunch of categories."))} & {"In the middle"}
    assert "Now" not in {c.text for c in optional_cuts(nlp("Now is another good time to pause."))}


def test_arguments_that_look_like_adjuncts_stay(nlp: Any) -> None:
    def cuts(text: str) -> set[str]:
        return {c.text for c in optional_cuts(nlp(text))}

    assert "into a smaller dimension" not in cuts("The matrix squishes everything into a smaller dimension.")
    assert "who has asked this question" not in cuts("Anyone who has asked this question is not expected to know.")
    assert "with the question" not in cuts("That leaves us with the question of how to define it.")
    assert "together" not in cuts("It brings them all together.")


def test_a_comparison_keeps_its_than(nlp: Any) -> None:
    text = "If there seems to be more fluid flowing into it than out of it, the divergence would be negative."
    assert not any("than" in c.text for c in optional_cuts(nlp(text)))


def test_even_if_keeps_its_even(nlp: Any) -> None:
    text = "Always wear the gloves when you work with the machine, even if the job will only take a minute."
    assert "even" not in {c.text for c in optional_cuts(nlp(text))}


def test_a_marker_set_off_by_its_comma_may_go_but_not_half_of_a_fixed_phrase(nlp: Any) -> None:
    def cuts(text: str) -> dict[str, str]:
        return {c.text: c.kind for c in optional_cuts(nlp(text))}

    assert cuts("However, here's what the transformed version looks like.").get("However") == "discourse"
    assert cuts("We're good on the real part, there's no issue there.").get("there") == "hedge"
    assert not {"vice", "versa"} & set(cuts("The less certain you can be of its momentum and vice versa."))
    # "the shorter ..., the less ...": neither half of a comparison goes.
    assert not any(c.startswith("The shorter") for c in cuts("The shorter it lasts in time, the less certain you can be."))
    # A phrase whose end runs into a term ("at the input x equals 0") is not cut.
    assert "at the input" not in cuts("It should also equal 1 at the input x equals 0.")


def test_a_cut_at_the_end_leaves_the_full_stop(nlp: Any) -> None:
    # spaCy reads "b." as one token (a real test sentence lost its full stop with it).
    text = "You can arrange the squares to get a big square whose side lengths are a plus b."
    cuts = optional_cuts(nlp(text))
    assert any(c.end == len(text) for c in cuts)
    for cut in cuts:
        assert apply_cuts(text, [cut]).endswith("."), cut
    assert apply_cuts(text, cuts).endswith(".")
