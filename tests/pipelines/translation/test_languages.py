"""The language of on-screen text, from its script, for jobs without speech."""

from __future__ import annotations

import pytest

from pipelines.translation.languages import written_language


@pytest.mark.parametrize(("texts", "default", "expected"), [
    (["你这辈子都躲不掉", "只能有我一个人"], "en", "zh"),  # Han alone: Chinese
    (["保存して閉じる", "設定"], "en", "ja"),  # with kana: Japanese
    (["設定"], "ja", "ja"),  # Han alone in a Japanese job: still Japanese
    (["新規顧客管理画面を開く"], "en", "ja"),  # kanji-heavy Japanese: 2 kana of 11
    (["人ロ统计数据分析报告"], "en", "zh"),  # one katakana look-alike (ロ for 口) read by OCR in Chinese
    (["저장", "설정 열기"], "en", "ko"),
    (["Сохранить"], "en", "ru"), (["Зберегти"], "uk", "uk"),  # Cyrillic: the job's where it writes it
    (["Save", "Open Settings"], "de", "de"),  # Latin: the job's language, which the script cannot tell
    (["Save", "Open Settings"], "zh", "en"),  # ... unless the job's is not written in Latin
    (["JupyterLab", "Work", "Launcher", "文件"], "en", "en"),  # by letters: one Chinese label among English
    (["12:30", "⌘"], "fr", "fr"), ([], "en", "en"),  # no letters: nothing to tell
])
def test_the_script_tells_the_language_where_it_can(texts: list[str], default: str, expected: str) -> None:
    assert written_language(texts, default) == expected
