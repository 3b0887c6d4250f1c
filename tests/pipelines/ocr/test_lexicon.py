"""Tesseract's readings judged by the words of their languages (real ``wordfreq`` lists)."""

from __future__ import annotations

from pipelines.ocr.lexicon import dotless, known_share, languages_of, restore_marks, strip_marks

CYRILLIC = ("rus", "ukr")


def test_a_reading_of_real_words_is_known_and_garbage_in_the_right_letters_is_not() -> None:
    assert known_share("Їхні відповіді збережено", CYRILLIC) == 1.0
    assert known_share("1х 1вдо д б режено", CYRILLIC) == 0.0  # pure Cyrillic, no word
    assert known_share("@ХЕЛЕДЕ) сиойл", ("rus",)) == 0.0
    assert known_share("Нажмите кнопку Save", ("rus",)) == 1.0  # Russian text uses the word too


def test_a_devanagari_word_keeps_its_vowel_signs() -> None:
    assert known_share("सेटिंग्स खोलें", ("hin",)) == 1.0
    assert known_share("इस पाठ में हम मूल बातें सीखेंगे", ("hin",)) == 1.0


def test_words_without_their_marks_and_greek_capitals_count_as_known() -> None:
    assert known_share("Сначала откроите меню фаила", CYRILLIC) == 1.0
    assert known_share("ΑΝΟΙΞΤΕ ΤΟ ΑΡΧΕΙΟ", ("ell",)) == 1.0


def test_what_cannot_be_judged_is_none() -> None:
    assert known_share("สวัสดีครับ", ("tha",)) is None  # no list for Thai
    assert known_share("파일을 저장하려면 버튼을 누르세요", ("kor",)) is None  # its list cuts words from particles
    assert known_share("12 3", CYRILLIC) is None and known_share("я", CYRILLIC) is None
    assert languages_of(("eng", "rus", "tha", "ukr", "rus")) == ("ru", "uk")


def test_marks_lost_inside_an_outline_are_restored_in_the_word_s_case() -> None:
    assert restore_marks("Сначала откроите меню фаила", CYRILLIC) == "Сначала откройте меню файла"
    assert restore_marks("Відкриите нову вкладку", CYRILLIC) == "Відкрийте нову вкладку"
    assert restore_marks("Ανοιξτε το αρχειο", ("ell",)) == "Ανοίξτε το αρχείο"  # "αρχειο" is listed, 10x rarer
    assert restore_marks("Πατήστε το κόυμπί", ("ell",)) == "Πατήστε το κουμπί"  # marks misplaced
    assert restore_marks("τις ρυθμισεις", ("ell",)) == "τις ρυθμίσεις"  # the final sigma kept


def test_listed_words_capitals_and_common_spellings_stay_as_read() -> None:
    assert restore_marks("Проверьте результат еще раз", ("rus",)) == "Проверьте результат еще раз"
    assert restore_marks("ΑΝΟΙΞΤΕ", ("ell",)) == "ΑΝΟΙΞΤΕ"
    assert restore_marks("1вдо режено", CYRILLIC) == "1вдо режено"
    assert restore_marks("Open the file", ("eng",)) == "Open the file"
    assert strip_marks("Й") == "и" and strip_marks("ς") == "σ"


def test_arabic_dots_lost_or_moved_are_put_back_where_a_listed_word_has_them() -> None:
    # The outline's binarisation moved ت's dots under it (ب) and gave ح one (ج); ش lost its three.
    assert restore_marks("افبج ملف المسروع", ("ara",)) == "افتح ملف المشروع"
    assert dotless("افتح") == dotless("افبج") and dotless("المشروع") == dotless("المسروع")


def test_listed_arabic_words_and_short_ones_keep_their_dots() -> None:
    assert restore_marks("نبت بيت", ("ara",)) == "نبت بيت"  # both words, their dotless letters the same
    assert restore_marks("ستتعلم", ("ara",)) == "ستتعلم"  # listed; so is سنتعلم
    assert restore_marks("نث", ("ara",)) == "نث"  # two letters (بن, بي share them): too many words do
    assert restore_marks("Сначала", ("rus",)) == "Сначала"  # other scripts have no dots to put back
