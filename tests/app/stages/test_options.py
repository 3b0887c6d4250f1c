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


@pytest.mark.parametrize(("values", "match"), [
    ({"colour": 1}, r"Unknown example option\(s\): colour\. Valid: box, count, extra, langs, mode, name, on, rate\."),
    ({"internal": 1}, "Unknown example option"),  # fixed fields are not settable
    ({"on": "yes"}, "Bad example option: on must be true or false"),
    ({"count": "many"}, "Bad example option"),
    ({"count": [1]}, "count must be a number"),
    ({"box": [0, 1]}, "box needs 4 values"),
    ({"langs": 5}, "langs must be a list"),
    ({"mode": "c"}, "mode must be one of 'a', 'b'"),
    ({"extra": [1]}, "extra must be an object"),
    ({"count": -1}, "count must be >= 0"),  # the dataclass's own check
])
def test_refuses_with_a_clear_message(values: dict[str, object], match: str) -> None:
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
