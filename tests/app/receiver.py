"""A real HTTP webhook receiver on loopback that checks signatures as the README tells users to."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify_lessonlens(secret: str, headers: Any, body: bytes, tolerance_s: int = 300) -> bool:
    """The README's verification snippet, verbatim."""
    ts = headers["X-Lessonlens-Timestamp"]
    sig = headers["X-Lessonlens-Signature"]
    if abs(time.time() - int(ts)) > tolerance_s:
        return False
    expected = "v1=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sig)


class Receiver:
    """Answers POSTs with the scripted status codes in turn (then 200); records what it got."""

    def __init__(self, secret: str, statuses: list[int] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                valid = verify_lessonlens(receiver.secret, self.headers, body)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if not valid:
                        status = 401
                    receiver.received.append({"headers": dict(self.headers), "body": json.loads(body),
                                              "valid": valid, "answered": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
