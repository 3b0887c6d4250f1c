"""Signed, expiring links to a job's source media and its event stream, for clients that cannot
send a bearer header; and the log filter that keeps credentials in URLs out of the access log.

A ``<video>`` element fetches its ``src`` itself, with range requests as it plays and seeks, and
cannot add ``Authorization``. With API keys on, ``POST /v1/jobs/{id}/source-link`` (authenticated
as usual) answers a URL of ``GET /v1/jobs/{id}/source`` that carries the owner's key id, an
expiry and an HMAC-SHA256 signature over the three and the job id; that request needs no header.

The signing key is derived from the server's configured API keys (all of them), so every API
process with the same configuration accepts the same links, a caller who knows only their own key
cannot forge one, and changing the keys revokes every link. The key itself never enters a URL.

An ``EventSource`` cannot send ``Authorization`` either: ``POST /v1/jobs/{id}/events-link`` answers
a signed link of ``GET /v1/jobs/{id}/events`` that lives a few minutes (long enough to connect).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlencode

from app.exceptions import Unauthorized

LINK_TTL_S = 6 * 3600  # long enough to watch a long lecture; the page asks for a new one per visit
EVENTS_LINK_TTL_S = 300  # an event stream needs the link only to connect (and to reconnect soon after)
Resource = Literal["source", "events"]


def _signing_key(key_ids: Mapping[str, str]) -> bytes:
    return hashlib.sha256(b"lessonlens source link\0" + "\0".join(sorted(key_ids)).encode()).digest()


def signature(key_ids: Mapping[str, str], job_id: str, owner: str, expires: int,
              resource: Resource = "source") -> str:
    """HMAC-SHA256 (hex) of the resource, the job id, the owner's key id and the expiry (unix seconds)."""
    message = f"{resource}\n{job_id}\n{owner}\n{expires}".encode()
    return hmac.new(_signing_key(key_ids), message, hashlib.sha256).hexdigest()


def source_link(key_ids: Mapping[str, str], job_id: str, owner: str, *, now: float | None = None,
                ttl_s: int = LINK_TTL_S, resource: Resource = "source") -> tuple[str, str]:
    """A signed URL (path and query) of the job's source (or event stream), and when it expires
    (ISO 8601, UTC)."""
    expires = int((time.time() if now is None else now) + ttl_s)
    query = urlencode({"owner": owner, "expires": expires,
                       "signature": signature(key_ids, job_id, owner, expires, resource)})
    return f"/v1/jobs/{job_id}/{resource}?{query}", datetime.fromtimestamp(expires, UTC).isoformat()


def verify(key_ids: Mapping[str, str], job_id: str, params: Mapping[str, str], *, now: float | None = None,
           resource: Resource = "source") -> str:
    """The owner a signed link was made for.

    Raises:
        Unauthorized: the link is malformed, altered, made for another job, resource or server
            (``invalid_link``), or expired (``link_expired``); the message says how to get a new one.
    """
    again = f"ask for a new one: POST /v1/jobs/{job_id}/{resource}-link"
    owner, sig = params.get("owner", ""), params.get("signature", "")
    try:
        expires = int(params.get("expires", ""))
    except ValueError:
        raise Unauthorized(f"this link is malformed (no expiry); {again}.", code="invalid_link") from None
    if not hmac.compare_digest(signature(key_ids, job_id, owner, expires, resource).encode(), sig.encode()):
        raise Unauthorized(f"this link is not valid (altered, or made for another job or server); "
                           f"{again}.", code="invalid_link")
    if expires < (time.time() if now is None else now):
        when = datetime.fromtimestamp(expires, UTC).isoformat()
        raise Unauthorized(f"this link expired at {when}; {again}.", code="link_expired")
    return owner


_CREDENTIAL = re.compile(r"(?i)([?&](?:access_token|token|api_key|key|signature|password)=)[^&#\s\"]*")


def redact(text: str) -> str:
    """``text`` with the values of credential-like query parameters replaced by ``REDACTED``."""
    return _CREDENTIAL.sub(r"\1REDACTED", text)


class RedactCredentials(logging.Filter):
    """A filter for the access log (``uvicorn.access``): no key or signature from a URL is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_log_redaction(logger_name: str = "uvicorn.access") -> None:
    """Add ``RedactCredentials`` to the access logger (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())
