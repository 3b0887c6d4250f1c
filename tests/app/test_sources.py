"""Sources: uploads probed and cleaned up on every refusal, path rules, URL downloads with limits."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from app.exceptions import (
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
    SourceError,
    UnsupportedMedia,
    UrlNotAllowed,
)
from app.sources import fetch_url, probe_or_415, receive_upload, resolve_path
from app.storage import LocalStorage, safe_filename


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "data")


def _leftovers(storage: LocalStorage) -> list[Path]:
    return [p for p in (storage.root / "incoming").iterdir()]


def test_upload_of_real_media_is_kept_and_probed(storage: LocalStorage, media_dir: Path) -> None:
    data = (media_dir / "tone.mp4").read_bytes()
    tmp, info = receive_upload(storage, io.BytesIO(data), "tone.mp4", 10_000_000)
    assert tmp.read_bytes() == data
    assert info.has_audio and info.has_video and info.duration > 1.5
    stored = storage.commit_input("job_" + "0" * 20, tmp, "tone.mp4")
    assert stored.is_file() and _leftovers(storage) == []


@pytest.mark.parametrize(("name", "error", "match"), [
    ("text.mp4", UnsupportedMedia, "not a readable media file"),
    ("truncated.mp4", UnsupportedMedia, "truncated|corrupt|not a readable"),
    ("empty.mp4", InvalidInput, "empty"),
])
def test_bad_uploads_are_refused_and_leave_nothing(storage: LocalStorage, media_dir: Path, name: str,
                                                   error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match) as info:
        receive_upload(storage, io.BytesIO((media_dir / name).read_bytes()), name, 10_000_000)
    assert str(storage.root) not in str(info.value)  # no server paths in messages
    assert _leftovers(storage) == []


def test_too_large_upload_is_refused_and_leaves_nothing(storage: LocalStorage, media_dir: Path) -> None:
    with pytest.raises(PayloadTooLarge, match=r"limit of 0\.001 MB"):  # said "0 MB"
        receive_upload(storage, io.BytesIO((media_dir / "tone.mp4").read_bytes()), "tone.mp4", 1000)
    assert _leftovers(storage) == []


def test_an_empty_path_source_is_refused_as_an_empty_upload_is(media_dir: Path) -> None:
    with pytest.raises(InvalidInput, match=r"empty\.mp4: the file is empty") as info:  # was 415, the upload's 422
        probe_or_415(media_dir / "empty.mp4", "empty.mp4")
    assert (info.value.status, info.value.code) == (422, "empty_file")


def test_path_rules(tmp_path: Path, media_dir: Path) -> None:
    root = media_dir
    assert resolve_path(str(media_dir / "tone.mp4"), [root]) == (media_dir / "tone.mp4").resolve()
    assert resolve_path("tone.mp4", [root]) == (media_dir / "tone.mp4").resolve()
    with pytest.raises(Forbidden, match="outside the allowed folders"):
        resolve_path("../../etc/passwd", [root])
    with pytest.raises(Forbidden):
        resolve_path("/etc/passwd", [root])
    link = tmp_path / "escape"
    link.mkdir()
    (link / "passwd.mp4").symlink_to("/etc/passwd")
    with pytest.raises(Forbidden):
        resolve_path(str(link / "passwd.mp4"), [link.parent / "other", media_dir])
    with pytest.raises(Forbidden, match="disabled"):
        resolve_path(str(media_dir / "tone.mp4"), [])
    with pytest.raises(InvalidInput, match="does not exist"):
        resolve_path("missing.mp4", [root])


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("my video (1).mp4") == "my_video_1_.mp4"
    assert safe_filename("..") == "media"


class _Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/tone.mp4")
            self.end_headers()
            return
        data = self.files.get(self.path.lstrip("/"))
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def file_server(media_dir: Path) -> Iterator[str]:
    _Files.files = {p.name: p.read_bytes() for p in media_dir.iterdir()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_url_follows_checked_redirects(storage: LocalStorage, file_server: str) -> None:
    path, info = fetch_url(f"{file_server}/redirect", storage, max_bytes=10_000_000, timeout_s=10,
                           allow_private=True)
    assert info.has_audio and path.stat().st_size > 0


@pytest.mark.parametrize(("name", "kwargs", "error"), [
    ("tone.mp4", {"allow_private": False}, UrlNotAllowed),
    ("tone.mp4", {"max_bytes": 100}, SourceError),
    ("text.mp4", {}, SourceError),
    ("missing.mp4", {}, SourceError),
])
def test_fetch_url_refusals_leave_nothing(storage: LocalStorage, file_server: str, name: str,
                                          kwargs: dict[str, Any], error: type[Exception]) -> None:
    args: dict[str, Any] = {"max_bytes": 10_000_000, "timeout_s": 10, "allow_private": True, **kwargs}
    with pytest.raises(error):
        fetch_url(f"{file_server}/{name}", storage, **args)
    assert _leftovers(storage) == []


def test_stale_incoming_files_are_cleaned(storage: LocalStorage) -> None:
    import os

    stale, fresh = storage.incoming_path(), storage.incoming_path()
    os.utime(stale, (1, 1))
    assert storage.cleanup_incoming(max_age_s=3600) == 1
    assert not stale.exists() and fresh.exists()


# ---------------------------------------------------------------- issue 18: defects 9 and 11


def test_dns_rebinding_cannot_reach_a_private_address(storage: LocalStorage, file_server: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The check and the connection use one resolution: a name that answers a public address to
    the check and loopback to the connection is refused, and nothing is downloaded from loopback."""
    import socket

    port = int(file_server.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers = iter(["8.8.8.8"] + ["127.0.0.1"] * 10)

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(UrlNotAllowed, match=r"127\.0\.0\.1"):
        fetch_url(f"http://rebind.example:{port}/tone.mp4", storage, max_bytes=10_000_000, timeout_s=10,
                  allow_private=False)
    assert _leftovers(storage) == []


def _job_with_path_source(client: Any, root: Path) -> str:
    r = client.post("/v1/jobs", json={"source": "lesson.mp4", "stages": ["subtitles"]})
    assert r.status_code == 201, r.text
    job_id: str = r.json()["id"]
    assert "identity" not in r.json()["source"]  # internal: never shown
    return job_id


def test_a_path_source_swapped_for_a_symlink_is_never_served(tmp_path: Path, media_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    root, outside = tmp_path / "root", tmp_path / "secret.mp4"
    root.mkdir()
    (root / "lesson.mp4").write_bytes((media_dir / "tone.mp4").read_bytes())
    outside.write_bytes((media_dir / "speech.mp4").read_bytes())
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", allowed_roots=[root]))) as c:
        job_id = _job_with_path_source(c, root)
        served = c.get(f"/v1/jobs/{job_id}/source")
        assert served.status_code == 200 and served.content == (root / "lesson.mp4").read_bytes()
        (root / "lesson.mp4").unlink()
        (root / "lesson.mp4").symlink_to(outside)  # the swap: a link out of the allowed root
        r = c.get(f"/v1/jobs/{job_id}/source")
        assert r.status_code == 403 and r.json()["error"]["code"] == "path_not_allowed", r.status_code
        (root / "lesson.mp4").unlink()
        (root / "lesson.mp4").write_bytes(outside.read_bytes())  # another file under the same name
        r = c.get(f"/v1/jobs/{job_id}/source")
        assert r.status_code == 409 and r.json()["error"]["code"] == "source_changed"


def test_path_sources_open_without_following_links(tmp_path: Path, media_dir: Path) -> None:
    import os

    from app.exceptions import Conflict
    from app.sources import identity, open_path_source

    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    media = root / "dir" / "a.mp4"
    media.write_bytes((media_dir / "tone.mp4").read_bytes())
    fd = open_path_source(str(media), [root])
    checked = identity(fd)
    os.close(fd)
    os.close(open_path_source(str(media), [root], checked))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.mp4").write_bytes(media.read_bytes())
    (root / "dir").rename(root / "old")
    (root / "dir").symlink_to(tmp_path / "elsewhere")  # a folder on the way swapped for a link
    with pytest.raises(Forbidden):
        open_path_source(str(media), [root], checked)
    (root / "dir").unlink()
    (root / "old").rename(root / "dir")
    media.write_bytes(media.read_bytes() + b"\0")  # changed since the check
    with pytest.raises(Conflict):
        open_path_source(str(media), [root], checked)


@pytest.mark.parametrize("durable", [True, False])
def test_an_input_is_flushed_to_disk_only_where_the_store_commits_are(tmp_path: Path, media_dir: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      durable: bool) -> None:
    # Postgres commits survive a power loss, so the input a job row points at is fsynced first;
    # SQLite's (WAL, synchronous=NORMAL) survive a crashed process only, as the page cache does.
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    storage = LocalStorage(tmp_path / "data", durable=durable)
    tmp, _ = receive_upload(storage, io.BytesIO((media_dir / "tone.mp4").read_bytes()), "tone.mp4", 10_000_000)
    stored = storage.commit_input("job_" + "0" * 20, tmp, "tone.mp4")
    assert stored.is_file() and len(synced) == (1 if durable else 0)


def test_the_embedded_store_keeps_inputs_as_durable_as_its_commits(tmp_path: Path) -> None:
    from app.metrics import Metrics
    from app.services import build_services, stop_services
    from app.settings import Settings

    services = build_services(Settings(data_dir=tmp_path / "data", workers=1), Metrics())
    try:
        assert services.storage.durable is False  # SQLite: WAL with synchronous=NORMAL
    finally:
        stop_services(services)
