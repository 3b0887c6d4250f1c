"""Per-job options of a stage: a JSON mapping parsed into the stage's frozen options dataclass.

One helper for every stage: the valid keys are the dataclass's fields (less those a job may not
set), each value is checked against its field's type (``int``, ``float``, ``bool``, ``str``,
``X | None``, ``Literal``, tuples and mappings) and converted only where nothing is lost (``3.0``
or ``"3"`` for an integer, ``1`` for a number, ``5`` for text; never ``5.7`` to 5), and the
dataclass's own ``__post_init__`` checks ranges. An optional field takes ``null`` or the text
``"none"`` (what the CLI's ``-O stage.key=none`` sends) for "off". Errors are ``OptionsError``
naming the option as ``stage.key``, what it wants and what it got, or the valid keys.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, Field, fields
from typing import TYPE_CHECKING, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from pipelines.exceptions import OptionsError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

OptionsT = TypeVar("OptionsT", bound="DataclassInstance")

__all__ = ["describe_options", "dump_options", "parse_options"]


def _settable(cls: type[DataclassInstance], fixed: frozenset[str]) -> dict[str, Field[object]]:
    return {f.name: f for f in fields(cls) if f.name not in fixed}


@functools.cache
def _hints(cls: type[DataclassInstance]) -> dict[str, object]:
    """``cls``'s field types, resolved once: ``get_type_hints`` evaluates every string annotation
    anew on each call, which made it most of the CPU of validating a submission's options and of
    a worker's parsing them (app.api.submit, app.stages.graph)."""
    return get_type_hints(cls)


def parse_options(cls: type[OptionsT], stage: str, values: Mapping[str, object],
                  fixed: frozenset[str] = frozenset()) -> OptionsT:
    """``values`` (from JSON or the CLI) as a ``cls`` instance.

    Args:
        cls: the stage's frozen options dataclass.
        stage: the stage name, for error messages.
        values: option name -> value; missing names keep their defaults.
        fixed: fields of ``cls`` a job may not set (they keep their defaults).

    Raises:
        OptionsError: an unknown key (naming the valid ones), a value of the wrong type, or a
            value the dataclass refuses.
    """
    settable = _settable(cls, fixed)
    unknown = set(values) - set(settable)
    if unknown:
        raise OptionsError(
            f"Unknown {stage} option(s): {', '.join(sorted(unknown))}. Valid: {', '.join(sorted(settable))}."
        )
    hints = _hints(cls)
    clean: dict[str, object] = {}
    for key, value in values.items():
        try:
            clean[key] = _coerce(f"{stage}.{key}", value, hints[key])
        except (TypeError, ValueError) as err:
            raise OptionsError(f"{err}.") from None
    try:
        return cast("OptionsT", cast("type", cls)(**clean))
    except (TypeError, ValueError) as err:
        raise OptionsError(f"Bad {stage} option: {err}.") from None


def dump_options(options: DataclassInstance, fixed: frozenset[str] = frozenset()) -> dict[str, object]:
    """The JSON form of parsed options: every settable field, tuples as lists.

    ``parse_options`` of it gives ``options`` back, so this is the canonical form a job stores.
    """
    return {name: _jsonable(getattr(options, name)) for name in _settable(type(options), fixed)}


def describe_options(cls: type[DataclassInstance],
                     fixed: frozenset[str] = frozenset()) -> list[dict[str, object]]:
    """Name, type (as written in the dataclass) and default of each settable field, for clients."""
    out: list[dict[str, object]] = []
    for name, f in _settable(cls, fixed).items():
        if f.default is not MISSING:
            default: object = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = None
        out.append({"name": name, "type": str(f.type), "default": _jsonable(default)})
    return out


def _jsonable(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _coerce(key: str, value: object, tp: object) -> object:
    """``value`` as type ``tp`` (a resolved annotation); raises TypeError/ValueError naming ``key``."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Union or origin is types.UnionType:
        choices = [a for a in args if a is not type(None)]
        if type(None) in args and (value is None or (str not in choices and _says_none(value))):
            return None
        # A union of several types (e.g. str | ReadingProfile): the dataclass checks it.
        if len(choices) > 1:
            return value
        try:
            return _coerce(key, value, choices[0])
        except (TypeError, ValueError) as err:
            raise type(err)(f'{err}; or send null (or "none") for no value') from None
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{key} must be one of {', '.join(repr(a) for a in args)}, got {value!r}")
        return value
    if origin is tuple:
        return _coerce_tuple(key, value, args)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            raise TypeError(f"{key} must be an object, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{key} must be true or false, got {value!r}")
        return value
    if tp is int:
        return _integer(key, value)
    if tp is float:
        return _number(key, value)
    if tp is str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(f"{key} must be text, got {value!r}")
        return str(value)
    return value


def _says_none(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("none", "null")


def _number(key: str, value: object) -> float:
    """A finite number, from a JSON number or its text (``"0.5"``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{key} must be a number, got {value!r}") from None
    else:
        raise TypeError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number, got {value!r}")
    return number


def _integer(key: str, value: object) -> int:
    """An integer, from a JSON number with no fraction (``3``, ``3.0``) or its text (``"3"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    error = TypeError if not isinstance(value, int | float | str) or isinstance(value, bool) else ValueError
    raise error(f"{key} must be an integer, got {value!r}")


def _coerce_tuple(key: str, value: object, args: tuple[object, ...]) -> tuple[object, ...]:
    if len(args) == 2 and args[1] is Ellipsis:  # tuple[X, ...]: a single text is a list of one
        items: Sequence[object] = (value,) if isinstance(value, str) else _sequence(key, value)
        return tuple(_coerce(key, v, args[0]) for v in items)
    items = _sequence(key, value)
    if len(items) != len(args):
        raise ValueError(f"{key} needs {len(args)} values, got {len(items)}")
    return tuple(_coerce(key, v, t) for v, t in zip(items, args, strict=True))


def _sequence(key: str, value: object) -> Sequence[object]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{key} must be a list, got {value!r}")
    return value
