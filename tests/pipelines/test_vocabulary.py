"""Screen-aware vocabulary: which on-screen terms are offered, respelling, and what counts as used."""

from __future__ import annotations

from pipelines.ocr.tracking import TextEvent
from pipelines.vocabulary import MAX_TERMS, offer, respell, stretches, terms_of, used


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
