"""Reading and speaking estimates, syllable counts and rate calibration."""

from __future__ import annotations

import pyphen
import pytest

from pipelines.exceptions import OptionsError, UnsupportedLanguageError
from pipelines.fit.estimates import (
    SYLLABLE_RATES,
    calibrate_rate,
    count_syllables,
    default_rate,
    normalize_language,
    number_words_en,
    reading_estimate,
    speaking_estimate,
)
from pipelines.linebreaks import wrap_lines
from pipelines.reading import reading_chars
from pipelines.subtitles import PROFILES

# Dictionary syllable counts (Merriam-Webster), chosen to cover the rules' corner cases.
ENGLISH_WORDS = {
    "the": 1, "make": 1, "makes": 1, "changes": 2, "used": 1, "created": 3, "wanted": 2, "jumped": 1,
    "table": 2, "while": 1, "people": 2, "every": 3, "idea": 3, "create": 2, "radio": 3, "video": 3,
    "actual": 3, "quiet": 2, "science": 2, "poem": 2, "statement": 2, "useful": 2, "something": 2,
    "definitely": 4, "education": 4, "communication": 5, "opportunities": 5, "configuration": 5,
    "variable": 4, "programming": 3, "python": 2, "function": 2, "library": 3, "tutorial": 4,
    "don't": 1, "we'll": 1, "it's": 1, "doesn't": 2, "isn't": 2, "can't": 1, "couldn't": 2,
}


@pytest.mark.parametrize(("word", "expected"), sorted(ENGLISH_WORDS.items()))
def test_english_word_syllables(word: str, expected: int) -> None:
    assert count_syllables(word, "en") == expected


def test_english_sentence_syllables() -> None:
    # So(1) basically(4) what(1) we(1) are(1) going(2) to(1) do(1) today(2) is(1) configure(3)
    # the(1) settings(2) of(1) your(1) account(2)
    text = "So basically, what we are going to do today is configure the settings of your account."
    assert count_syllables(text, "en") == 25


def test_numbers_are_read_out() -> None:
    assert number_words_en(1205) == "one thousand two hundred five"
    assert number_words_en(40) == "forty"
    assert count_syllables("7", "en") == 2  # sev-en
    assert count_syllables("1999", "en") == count_syllables("nineteen ninety nine", "en")
    assert count_syllables("3.5", "en") == count_syllables("three point five", "en")
    assert count_syllables("45%", "en") == count_syllables("forty five", "en") + 2


def test_chinese_counts_han_characters() -> None:
    assert count_syllables("今天我们来配置您的账户设置。", "zh") == 13


def test_japanese_small_kana_and_moraic_n_join_the_syllable_before() -> None:
    assert count_syllables("きょう", "ja") == 2  # kyo-u
    assert count_syllables("アカウント", "ja") == 4  # a-ka-un-to
    assert count_syllables("コーヒー", "ja") == 2  # koo-hii


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Heute konfigurieren wir die Einstellungen.", "de", 13),
        ("Aujourd'hui nous allons configurer votre compte.", "fr", 13),
        ("Hoy vamos a configurar su cuenta.", "es", 11),
        ("Oggi configuriamo il tuo account.", "it", 11),
    ],
)
def test_other_languages_close_to_hand_counts(text: str, language: str, expected: int) -> None:
    # Hand counts; rules may be off by one on a sentence, no more.
    assert abs(count_syllables(text, language) - expected) <= 1


def test_spanish_uses_pyphen() -> None:
    dic = pyphen.Pyphen(lang="es", left=1, right=1)
    word = "configuración"
    assert count_syllables(word, "es") == len(dic.positions(word)) + 1 == 5


def test_speaking_estimate_uses_pellegrino_rate() -> None:
    est = speaking_estimate("So basically, what we are going to do today is configure the settings of your account.",
                            "en-US")
    assert est.syllables_per_second == SYLLABLE_RATES["en"] == 6.19
    assert est.seconds == pytest.approx(25 / 6.19)
    faster = speaking_estimate("one two three", "en", syllables_per_second=3.0)
    assert faster.seconds == pytest.approx(1.0)


def test_rates_and_languages() -> None:
    assert default_rate("ja") == 7.84
    assert default_rate("zh-Hans") == 5.18
    assert normalize_language("deu") == "de"
    with pytest.raises(UnsupportedLanguageError, match="calibrate"):
        default_rate("fi")
    with pytest.raises(OptionsError):
        speaking_estimate("hello", "en", syllables_per_second=0)


def test_reading_estimate_counts_characters_not_line_breaks() -> None:
    profile = PROFILES["netflix-en"]
    text = "Save your work\nbefore closing."
    est = reading_estimate(text, profile)
    assert est.chars == reading_chars(text) == len("Save your work before closing.")
    assert est.seconds == pytest.approx(est.chars / 20.0)
    assert est.lines == 1 and est.lines_ok


def test_reading_estimate_lines_and_children_profile() -> None:
    text = " ".join(["word"] * 30)  # 149 chars: 4 lines of 42
    adult = reading_estimate(text, PROFILES["netflix-en"])
    child = reading_estimate(text, PROFILES["netflix-en-children"])
    assert adult.lines == len(wrap_lines(text, 42, 2)) == 4 and not adult.lines_ok
    assert child.seconds > adult.seconds


def test_reading_estimate_by_words_for_bbc() -> None:
    est = reading_estimate("one two three four five six", PROFILES["bbc"])
    assert est.seconds == pytest.approx(6 * 60 / 180)


def test_calibrate_rate_from_timed_transcript() -> None:
    segments = [
        ("So basically, what we are going to do today is configure the settings of your account.", 0.0, 5.0),
        ("", 5.0, 6.0),  # no text: skipped
        ("one two three", 6.0, 6.0),  # no duration: skipped
        ("one two three", 7.0, 8.0),
    ]
    rate = calibrate_rate(segments, "en")
    assert rate.segments == 2
    assert rate.syllables == 28
    assert rate.speech_seconds == pytest.approx(6.0)
    assert rate.syllables_per_second == pytest.approx(28 / 6.0)


def test_calibrate_rate_rejects_unusable_input() -> None:
    with pytest.raises(OptionsError, match="No timed segment"):
        calibrate_rate([("", 0.0, 1.0)], "en")
    with pytest.raises(OptionsError, match="implausible"):
        calibrate_rate([("hello there my friend", 0.0, 3000.0)], "en")  # milliseconds, not seconds
