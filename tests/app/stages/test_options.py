"""The one options helper every stage parses with: keys, coercion from field types, errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pytest

from app.stages.options import describe_options, dump_options, parse_options
from pipelines.exceptions import OptionsError


@dataclass(frozen=True)
class Example:
    count: int = 1
    rate: float = 2.0
    on: bool = True
    name: str | None = None
    box: tuple[float, float, float, float] | None = None
    langs: tuple[str, ...] = ("en",)
    mode: Literal["a", "b"] = "a"
    extra: Mapping[str, object] | None = None
    limit: float | None = 1.0
    internal: int = 7

    def __post_init__(self) -> None:
        if self.count < 0:
            raise OptionsError(f"count must be >= 0, got {self.count}.")


FIXED = frozenset({"internal"})


def test_coerces_from_the_field_types() -> None:
    got = parse_options(Example, "example", {"count": "3", "rate": 1, "name": 5, "box": [0, 0, 1, 0.5],
                                             "langs": "de", "mode": "b", "extra": {"k": 1}}, FIXED)
    assert got == Example(count=3, rate=1.0, name="5", box=(0.0, 0.0, 1.0, 0.5), langs=("de",), mode="b",
                          extra={"k": 1})
    assert parse_options(Example, "example", {"langs": ["de", "fr"], "name": None}).langs == ("de", "fr")
    assert parse_options(Example, "example", {"count": 3.0, "rate": "0.5"}) == Example(count=3, rate=0.5)


@pytest.mark.parametrize("off", [None, "none", "None", "null"])
def test_an_optional_field_takes_null_or_none_for_no_value(off: object) -> None:
    """``"none"``: what ``-O stage.key=none`` sends (not JSON, so text), as the README spells "off"."""
    assert parse_options(Example, "example", {"limit": off, "extra": off, "box": off}) == Example(limit=None)
    assert parse_options(Example, "example", {"name": "none"}).name == "none"  # text stays text


@pytest.mark.parametrize(("values", "match"), [
    ({"colour": 1}, r"Unknown example option\(s\): colour\. Valid: box, count, extra, langs, limit, mode, name, on, "
                    r"rate\."),
    ({"internal": 1}, "Unknown example option"),  # fixed fields are not settable
    ({"on": "yes"}, "^example.on must be true or false, got 'yes'.$"),
    ({"count": "many"}, "^example.count must be an integer, got 'many'.$"),
    ({"count": 5.7}, "^example.count must be an integer, got 5.7.$"),  # not rounded down to 5
    ({"count": "5.7"}, "^example.count must be an integer, got '5.7'.$"),
    ({"count": True}, "^example.count must be an integer, got True.$"),
    ({"count": [1]}, r"^example\.count must be an integer, got \[1\]\.$"),
    ({"rate": "fast"}, "^example.rate must be a number, got 'fast'.$"),
    ({"rate": "nan"}, "^example.rate must be a finite number, got 'nan'.$"),
    ({"limit": "off"}, r"^example\.limit must be a number, got 'off'; or send null \(or \"none\"\) for no value\.$"),
    ({"box": [0, 1]}, "example.box needs 4 values"),
    ({"box": [0, 0, 1, "x"]}, "example.box must be a number, got 'x'"),
    ({"langs": 5}, "example.langs must be a list"),
    ({"mode": "c"}, "example.mode must be one of 'a', 'b'"),
    ({"extra": [1]}, "example.extra must be an object"),
    ({"count": -1}, "count must be >= 0"),  # the dataclass's own check
])
def test_refuses_with_a_clear_message(values: dict[str, object], match: str) -> None:
    """Each names the option as stage.key, what it wants and what it got."""
    with pytest.raises(OptionsError, match=match):
        parse_options(Example, "example", values, FIXED)


def test_dump_is_json_and_parses_back() -> None:
    opts = parse_options(Example, "example", {"box": [0, 0, 1, 1], "extra": {"k": [1, 2]}}, FIXED)
    dumped = dump_options(opts, FIXED)
    assert dumped["box"] == [0, 0, 1, 1] and dumped["extra"] == {"k": [1, 2]} and "internal" not in dumped
    assert parse_options(Example, "example", dumped, FIXED) == opts


def test_describe_lists_settable_fields_with_defaults() -> None:
    described = {d["name"]: d for d in describe_options(Example, FIXED)}
    assert "internal" not in described
    assert described["langs"] == {"name": "langs", "type": "tuple[str, ...]", "default": ["en"]}
