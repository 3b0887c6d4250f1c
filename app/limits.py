"""Limits on every input, checked before anything is stored (issue 18).

- ``loads``: the one JSON parser of user input (bodies and JSON form fields). Only finite numbers
  (``NaN``, ``Infinity`` and ``1e999`` are refused: they cannot be answered as JSON again), a
  bounded nesting depth, and no ``RecursionError`` however deep the text.
- ``InputLimitsMiddleware``: every JSON body is parsed by ``loads`` before a route sees it, bodies
  are capped in size, and a body that stops arriving (idle) or takes too long ends with 408.
- ``check_options`` / ``check_media``: sizes of per-stage options (hotwords, prompt) and of the
  media itself (duration, frame size), named by field in the error.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response
from app.exceptions import InvalidInput, PayloadTooLarge, RequestTimeout
from app.settings import Settings


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range; send a finite number")
    return value


def depth(value: Any) -> int:
    """Nesting depth of a JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            items: Any = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in items)
    return deepest


def _text_depth(text: str | bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (a cheap pre-check that keeps
    the parser from recursing thousands of levels)."""
    data = text.encode() if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:  # the common case, at C speed
        return False
    level, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            level += 1
            if level > limit:
                return True
        elif byte in (0x5D, 0x7D):
            level -= 1
    return False


def loads(text: str | bytes, field: str, max_depth: int) -> Any:
    """Parse user JSON strictly.

    Raises:
        InvalidInput (422, ``invalid_json``): not JSON, a non-finite number, or nested deeper than
            ``max_depth``; ``detail.field`` names where it came from.
    """
    if _text_depth(text, max_depth):
        raise InvalidInput(f"{field} is nested deeper than {max_depth} levels (LESSONLENS_MAX_JSON_DEPTH).",
                           code="invalid_json", detail={"field": field, "max_depth": max_depth})
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidInput(f"{field} is nested too deeply.", code="invalid_json",
                           detail={"field": field}) from None
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        code = "invalid_json" if "finite" in str(e) else "validation_error"  # as before for plain bad JSON
        raise InvalidInput(f"{field} is not valid JSON: {e}.", code=code, detail={"field": field}) from None


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())


def check_json(value: Any, field: str, *, max_bytes: int, max_depth: int) -> None:
    """A parsed JSON value (options, metadata) within size and depth, with finite numbers only.

    Raises:
        InvalidInput (422) naming ``field``.
    """
    if depth(value) > max_depth:
        raise InvalidInput(f"{field} is nested deeper than {max_depth} levels.", code="invalid_json",
                           detail={"field": field, "max_depth": max_depth})
    try:
        size = _json_bytes(value)
    except ValueError:
        raise InvalidInput(f"{field} holds a number that is not finite (NaN or Infinity); send finite numbers.",
                           code="invalid_json", detail={"field": field}) from None
    if size > max_bytes:
        raise InvalidInput(f"{field} is larger than {max_bytes} bytes of JSON ({size} bytes); send less.",
                           code="too_large", detail={"field": field, "limit_bytes": max_bytes})


def _text_option(options: Mapping[str, Any], key: str) -> str:
    value = options.get(key)
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def check_options(options: Mapping[str, Mapping[str, Any]], settings: Settings) -> None:
    """Sizes of per-stage options: the whole object, then the ASR's hotwords and prompt.

    Raises:
        InvalidInput (422) naming the field (``options.subtitles.hotwords``, ...).
    """
    check_json(options, "options", max_bytes=settings.max_options_bytes, max_depth=settings.max_json_depth)
    for stage, values in options.items():
        hotwords = _text_option(values, "hotwords").split()
        where = f"options.{stage}.hotwords"
        if len(hotwords) > settings.max_hotwords:
            raise InvalidInput(f"{where} has {len(hotwords)} words; at most {settings.max_hotwords} "
                               "(LESSONLENS_MAX_HOTWORDS).", code="too_large",
                               detail={"field": where, "limit": settings.max_hotwords})
        long = next((w for w in hotwords if len(w) > settings.max_hotword_chars), None)
        if long is not None:
            raise InvalidInput(f"{where} has a word of {len(long)} characters; at most "
                               f"{settings.max_hotword_chars}.", code="too_large",
                               detail={"field": where, "limit": settings.max_hotword_chars})
        prompt = _text_option(values, "initial_prompt")
        if len(prompt) > settings.max_prompt_chars:
            where = f"options.{stage}.initial_prompt"
            raise InvalidInput(f"{where} has {len(prompt)} characters; at most {settings.max_prompt_chars} "
                               "(LESSONLENS_MAX_PROMPT_CHARS).", code="too_large",
                               detail={"field": where, "limit": settings.max_prompt_chars})


def check_media(media: Mapping[str, Any] | None, settings: Settings, shown_name: str) -> None:
    """The probed media within the duration and frame-size limits.

    Raises:
        InvalidInput (422, ``media_too_long`` / ``frame_too_large``) naming the field.
    """
    if not media:
        return
    duration = float(media.get("duration") or 0)
    if duration > settings.max_duration_s:
        raise InvalidInput(
            f"{shown_name} lasts {duration / 3600:.2f} h, above the limit of {settings.max_duration_s / 3600:.2f} h "
            "(LESSONLENS_MAX_DURATION_S); split it into parts.", code="media_too_long",
            detail={"field": "duration", "duration_s": duration, "limit_s": settings.max_duration_s})
    width, height = int(media.get("width") or 0), int(media.get("height") or 0)
    if width * height > settings.max_frame_pixels:
        raise InvalidInput(
            f"{shown_name} has {width}x{height} frames, above the limit of {settings.max_frame_pixels} pixels "
            "(8K, LESSONLENS_MAX_FRAME_PIXELS); scale it down.", code="frame_too_large",
            detail={"field": "frame_size", "width": width, "height": height, "limit_pixels": settings.max_frame_pixels})


# ---------------------------------------------------------------- the ASGI layer


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            ctype: bytes = value.split(b";")[0].strip().lower()
            return ctype == b"application/json" or ctype.endswith(b"+json")
    return False


def _declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or None when it has none (chunked) or it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _body_too_large(limit: int, declared: str = "") -> PayloadTooLarge:
    return PayloadTooLarge(f"the JSON body is larger than the limit of {limit} bytes{declared} "
                           "(LESSONLENS_MAX_JSON_BODY_BYTES); send a smaller one.",
                           detail={"field": "body", "limit_bytes": limit})


class InputLimitsMiddleware:
    """Body limits for every route: JSON parsed strictly and capped in size, an idle timeout
    between body chunks and a total time for the body. Errors answer in the API's error shape."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        s = self.settings
        deadline = time.monotonic() + s.body_timeout_s

        async def timed_receive() -> Message:
            wait = min(s.body_idle_timeout_s, max(0.0, deadline - time.monotonic()))
            try:
                with anyio.fail_after(wait):
                    return await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"the request body stopped arriving (no data for {s.body_idle_timeout_s:g} s, or longer "
                    f"than {s.body_timeout_s:g} s in all); send it again.",
                    detail={"idle_timeout_s": s.body_idle_timeout_s, "timeout_s": s.body_timeout_s}) from None

        if not _is_json(scope):
            await self._guarded(scope, timed_receive, send)
            return
        try:
            body = await self._read_json_body(timed_receive, _declared_length(scope))
            loads(body, "body", s.max_json_depth)
        except (InvalidInput, PayloadTooLarge, RequestTimeout) as e:
            await self._answer(e, scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; a body timeout raised before the answer started becomes a 408."""
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except RequestTimeout as e:
            if started:
                raise
            await self._answer(e, scope, receive, send)

    async def _read_json_body(self, receive: Receive, declared: int | None) -> bytes:
        """The whole body, refused with 413 once it passes the limit, or at once when its declared
        ``Content-Length`` does (no waiting for a body that would be refused anyway)."""
        limit = self.settings.max_json_body_bytes
        if declared is not None and declared > limit:
            raise _body_too_large(limit, f" (its Content-Length is {declared} bytes)")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _body_too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _answer(error: InvalidInput | PayloadTooLarge | RequestTimeout, scope: Scope, receive: Receive,
                      send: Send) -> None:
        headers = {"Connection": "close"} if not isinstance(error, InvalidInput) else None
        response = error_response(error.status, error.code, error.message, error.detail, headers)
        await response(scope, receive, send)
