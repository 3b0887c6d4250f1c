"""Screen-aware vocabulary: which on-screen terms are offered, respelling, and what counts as used."""

from __future__ import annotations

from pipelines.ocr.tracking import CUT, TextEvent
from pipelines.vocabulary import (
    MAX_TERMS,
    lookalikes,
    offer,
    respell,
    spelled,
    spellings,
    stretches,
    terms_of,
    used,
)


def Seen(start: float, end: float, text: str, confidence: float = 0.95) -> TextEvent:
    """On-screen text as the ocr stage times it."""
    return TextEvent(start, end, (0.1, 0.1, 0.9, 0.2), text, confidence, scene=0)


def test_short_lines_are_labels_and_long_lines_give_their_unusual_words() -> None:
    assert terms_of("Export as PDF") == ["Export as PDF", "PDF"]
    assert terms_of("kubectl apply") == ["kubectl apply"]
    assert terms_of("Every night the database is copied by pg_dump to Nextcloud") == [
        "pg_dump", "Nextcloud"]
    assert terms_of("Python 3 (ipykernel)", rare=lambda w: w == "ipykernel") == ["Python 3 (ipykernel)", "ipykernel"]
    assert terms_of("12:30") == [] and terms_of("  ") == []


def test_offer_takes_what_is_on_screen_around_the_stretch() -> None:
    screen = [Seen(0, 5, "Grafana"), Seen(5, 9, "Export as PDF"), Seen(30, 40, "Later Slide"),
              Seen(0, 9, "Blurry", confidence=0.3)]
    terms = offer(4.0, 8.0, screen)
    assert "Export as PDF" in terms and "Grafana" in terms
    assert "Later Slide" not in terms and "Blurry" not in terms
    assert terms.index("Export as PDF") < terms.index("Grafana")  # longer on screen during the stretch first
    many = [Seen(0, 10, f"Label{k}x") for k in range(40)]
    assert len(offer(0, 10, many)) == MAX_TERMS


def test_text_partly_hidden_on_screen_is_not_offered() -> None:
    """A label half under a bar reads as look-alikes ("Torminal"): flagged ``cut``, never a hotword."""
    hidden = TextEvent(0, 9, (0.4, 0.84, 0.47, 0.87), "Torminal", 0.92, scene=0, flags=(CUT,))
    assert offer(0.0, 9.0, [hidden, Seen(0, 9, "Launcher")]) == ("Launcher",)


def test_stretches_join_speech_up_to_a_window() -> None:
    speech = [(0.0, 5.0), (6.0, 20.0), (21.0, 27.0), (28.0, 40.0), (41.0, 45.0)]
    assert stretches(speech, window_s=28.0) == [(0.0, 27.0), (28.0, 45.0)]


def test_respell_fixes_case_only_where_the_words_match() -> None:
    tokens = [" Press", " restore", " backup,", " then", " confirm.", " Open", " nextcloud", " restored"]
    out = respell(tokens, ["Restore Backup", "Confirm", "Nextcloud", "pg_dump (daily)"])
    assert out == [" Press", " Restore", " Backup,", " then", " Confirm.", " Open", " Nextcloud", " restored"]


def test_used_needs_the_exact_spelling() -> None:
    text = "Open Grafana, press export as PDF, then Copy URL-encoded data."
    assert used(["Grafana", "Export as PDF", "Copy URL"], text) == ("Grafana",)


def test_a_rare_word_of_a_label_is_offered_on_its_own_too() -> None:
    screen = [Seen(0, 9, "kubectl apply"), Seen(0, 9, "Restart Kernel")]
    terms = offer(0.0, 9.0, screen, rare=lambda w: w == "kubectl")
    assert "kubectl apply" in terms and "kubectl" in terms
    assert "Kernel" not in terms  # a plain word of a label: the label covers it


def test_spellings_are_plain_terms_and_the_unusual_words_of_labels() -> None:
    rare = {"kubectl", "ipykernel"}.__contains__
    assert spellings(["Export as PDF", "Python 3 (ipykernel)", "kubectl apply"], rare) == (
        "Export as PDF", "PDF", "ipykernel", "kubectl apply", "kubectl")


def test_lookalikes_find_near_misses_and_keep_exact_terms() -> None:
    tokens = [" and", " press", " Exporting", " PDF", " to", " save", " it", " with", " Kubernetes."]
    runs = lookalikes(tokens, ["Export as PDF", "PDF", "kubectl", "Kubernetes"])
    assert [(r.start, r.end, r.term) for r in runs] == [(2, 4, "Export as PDF")]  # Kubernetes is spelled as on screen
    assert spelled(tokens, runs[0]) == [" Export", " as", " PDF"]
    assert lookalikes([" come", " from", " PyPI,", " install", " NumPy"], ["pip install numpy", "PyPI", "NumPy"]) == []
    (run,) = lookalikes([" the", " libykernel,", " then"], ["ipykernel"])
    assert spelled([" the", " libykernel,", " then"], run) == [" ipykernel,"]  # punctuation kept
