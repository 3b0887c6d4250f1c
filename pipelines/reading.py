"""How fast a subtitle can be read: the one reading-speed rule.

A style profile limits characters a second (Netflix; spaces and punctuation count, line breaks
do not) or words a minute (the BBC), or both; a text needs the longer of the two times. The
subtitle segmenter (``pipelines.subtitles``) times its cues with this rule and the fit
(``pipelines.fit.estimates``) measures texts with it. Lines are ``pipelines.linebreaks``'s.
"""

from __future__ import annotations

from typing import Protocol


class ReadingProfile(Protocol):
    """What the reading rule needs of a style profile (``pipelines.subtitles.StyleProfile``)."""

    @property
    def max_cps(self) -> float | None: ...

    @property
    def max_wpm(self) -> float | None: ...

    @property
    def max_line_chars(self) -> int: ...

    @property
    def max_lines(self) -> int: ...


def reading_chars(text: str) -> int:
    """Characters a reader reads: spaces and punctuation count, line breaks and doubled spaces do not."""
    return len(" ".join(text.split()))


def reading_seconds(chars: int, words: int, profile: ReadingProfile) -> float | None:
    """Seconds to read ``chars`` characters in ``words`` words: the slower of the profile's limits.

    None when the profile limits neither characters a second nor words a minute.
    """
    seconds: list[float] = []
    if profile.max_cps:
        seconds.append(chars / float(profile.max_cps))
    if profile.max_wpm:
        seconds.append(words * 60.0 / float(profile.max_wpm))
    return max(seconds) if seconds else None
