"""Signed, expiring links to a job's source media, for clients that cannot send a bearer header.

A ``<video>`` element fetches its ``src`` itself, with range requests as it plays and seeks, and
cannot add ``Authorization``. With API keys on, ``POST /v1/jobs/{id}/source-link`` (authenticated
as usual) answers a URL of ``GET /v1/jobs/{id}/source`` that carries the owner's key id, an
expiry and an HMAC-SHA256 signature over the three and the job id; that request needs no header.

The signing key is derived from the server's configured API keys (all of them), so every API
process with the same configuration accepts the same links, a caller who knows only their own key
cannot forge one, and changing the keys revokes every link. The key itself never enters a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from app.exceptions import Unauthorized

LINK_TTL_S = 6 * 3600  # long enough to watch a long lecture; the page asks for a new one per visit


def _signing_key(key_ids: Mapping[str, str]) -> bytes:
    return hashlib.sha256(b"lessonlens source link\0" + "\0".join(sorted(key_ids)).encode()).digest()


def signature(key_ids: Mapping[str, str], job_id: str, owner: str, expires: int) -> str:
    """HMAC-SHA256 (hex) of the job id, the owner's key id and the expiry (unix seconds)."""
    message = f"{job_id}\n{owner}\n{expires}".encode()
    return hmac.new(_signing_key(key_ids), message, hashlib.sha256).hexdigest()


def source_link(key_ids: Mapping[str, str], job_id: str, owner: str, *, now: float | None = None,
                ttl_s: int = LINK_TTL_S) -> tuple[str, str]:
    """A signed URL (path and query) of the job's source, and when it expires (ISO 8601, UTC)."""
    expires = int((time.time() if now is None else now) + ttl_s)
    query = urlencode({"owner": owner, "expires": expires,
                       "signature": signature(key_ids, job_id, owner, expires)})
    return f"/v1/jobs/{job_id}/source?{query}", datetime.fromtimestamp(expires, UTC).isoformat()


def verify(key_ids: Mapping[str, str], job_id: str, params: Mapping[str, str], *, now: float | None = None) -> str:
    """The owner a signed source link was made for.

    Raises:
        Unauthorized: the link is malformed, altered, made for another job or server
            (``invalid_link``), or expired (``link_expired``); the message says how to get a new one.
    """
    again = f"ask for a new one: POST /v1/jobs/{job_id}/source-link"
    owner, sig = params.get("owner", ""), params.get("signature", "")
    try:
        expires = int(params.get("expires", ""))
    except ValueError:
        raise Unauthorized(f"this source link is malformed (no expiry); {again}.", code="invalid_link") from None
    if not hmac.compare_digest(signature(key_ids, job_id, owner, expires).encode(), sig.encode()):
        raise Unauthorized(f"this source link is not valid (altered, or made for another job or server); "
                           f"{again}.", code="invalid_link")
    if expires < (time.time() if now is None else now):
        when = datetime.fromtimestamp(expires, UTC).isoformat()
        raise Unauthorized(f"this source link expired at {when}; {again}.", code="link_expired")
    return owner
