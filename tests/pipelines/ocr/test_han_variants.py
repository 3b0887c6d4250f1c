"""Chinese captions in one written form (real OpenCC dictionaries)."""

from __future__ import annotations

from pipelines.ocr.han_variants import form_of, in_form, in_one_form, written_form

# Lines as PP-OCRv5 read two real clips' captions (rvo_coldwar_zh, svocr_drama_2line_zh).
COLDWAR = ["耶穌也留不住他•我说的", "这句话当时也是红遍网络 被各种段子模仿", "到现在依然经久不息"]
DRAMA = ["不准再看別人", "不准再着别人", "你这辈子都躲不掉", "只能有我一个人"]


def test_a_character_of_one_form_only() -> None:
    assert (form_of("别"), form_of("別")) == ("simplified", "traditional")
    assert form_of("的") is None  # both forms write it so
    assert form_of("A") is None


def test_traditional_slips_in_simplified_captions_are_converted() -> None:
    assert written_form(COLDWAR) == "simplified"
    assert [in_form(line, "simplified") for line in COLDWAR] == ["耶稣也留不住他•我说的", *COLDWAR[1:]]
    assert written_form(DRAMA) == "simplified"
    assert in_form(DRAMA[0], "simplified") == "不准再看别人"
    assert in_form(DRAMA[1], "simplified") == DRAMA[1]


def test_simplified_slips_in_traditional_captions_are_converted() -> None:
    lines = ["這是我們的時間", "請你們過來", "我們的个人"]
    assert written_form(lines) == "traditional"
    assert in_form(lines[2], "traditional") == "我們的個人"


def test_only_the_other_forms_characters_change() -> None:
    # OpenCC converts 乾杯 to 干杯 and leaves 乾坤 (a word simplified Chinese writes so).
    assert in_form("乾坤之間", "simplified") == "乾坤之间"


def test_no_plain_form_no_change() -> None:
    assert written_form(["东京へ行きます", "国の時間"]) is None  # kana: Japanese
    assert written_form(["我们", "這個"]) is None  # too few, and both forms
    assert written_form(["Hello there"]) is None
    assert in_form("東京へ行く", "simplified") == "東京へ行く"


def test_a_videos_on_screen_texts_are_kept_in_one_form() -> None:
    texts = ["第一课：安装软件", "点击这里开始", "選择你的语言"]  # 選: a traditional slip
    assert in_one_form(texts) == ["第一课：安装软件", "点击这里开始", "选择你的语言"]
    mixed = ["我们", "這個"]
    assert in_one_form(mixed) == mixed
