"""Where a job's media comes from: an upload, a path under an allowed root, or an http(s) URL.

Uploads and paths are checked at submit time by probing (not by extension): anything that is
not usable media is refused with 415 and leaves no file behind. URL sources are checked at
submit time against the same address rules as webhooks and downloaded by the worker, with a
size and a time limit (redirects are followed by hand so each hop is checked too).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urljoin

from app.exceptions import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    SourceError,
    UnsupportedMedia,
)
from app.settings import megabytes
from app.storage import Storage
from app.urls import check_url, pinned_client
from pipelines import media
from pipelines.exceptions import MediaError
from pipelines.media import MediaInfo

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5


def media_dict(info: MediaInfo) -> dict[str, object]:
    """Probe result as stored on the job (without the server-side path)."""
    data = dict(vars(info))  # its fields are scalars: no deep copy (asdict took ~35 µs a call)
    data.pop("path", None)
    return data


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def probe_or_415(path: Path, shown_name: str) -> MediaInfo:
    """Probe a file; ``UnsupportedMedia`` (415) naming ``shown_name`` when it is not usable media,
    ``InvalidInput`` (422, ``empty_file``) when it is empty, as for an empty upload."""
    try:
        empty = path.stat().st_size == 0
    except OSError:
        empty = False  # the probe names what is wrong
    if empty:
        raise InvalidInput(f"{shown_name}: the file is empty (0 bytes); give a whole media file (one still being "
                           "copied may be empty until the copy ends).", code="empty_file", detail={"file": shown_name})
    try:
        return media.probe(path)
    except MediaError as e:
        message = str(e).replace(str(path), shown_name)
        raise UnsupportedMedia(message, detail={"file": shown_name}) from None


def receive_upload(storage: Storage, stream: BinaryIO, filename: str, max_bytes: int) -> tuple[Path, MediaInfo]:
    """Store an upload in ``incoming/`` and probe it. Blocking: run in a thread.

    Returns the temporary path (the caller commits it to the job) and the media info.

    Raises:
        PayloadTooLarge, InvalidInput (empty file), UnsupportedMedia; the file is gone on error.
    """
    tmp, size = storage.receive(stream, max_bytes)
    try:
        if size > max_bytes:
            raise PayloadTooLarge(
                f"the upload is larger than the limit of {megabytes(max_bytes)} MB "
                "(LESSONLENS_MAX_UPLOAD_MB); send a smaller file or use a path or URL source.",
                detail={"limit_bytes": max_bytes})
        if size == 0:
            raise InvalidInput(f"{filename}: the uploaded file is empty (0 bytes); upload the whole media file.",
                               code="empty_file", detail={"file": filename})
        return tmp, probe_or_415(tmp, filename)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def resolve_path(source: str, roots: list[Path]) -> Path:
    """The real path of a path source; it must lie under one of ``roots`` (symlinks resolved).

    Relative paths are taken relative to each root in turn.

    Raises:
        Forbidden: no roots configured, or the path leaves them. InvalidInput: no such file.
    """
    if not roots:
        raise Forbidden("path sources are disabled on this server (LESSONLENS_ALLOWED_ROOTS is empty); "
                        "upload the file or give an http(s) URL.", code="path_not_allowed")
    if "\x00" in source or not source.strip():
        raise InvalidInput("source is not a valid path.", code="invalid_source")
    real_roots = [r.resolve() for r in roots]
    given = Path(source)
    candidates = [given] if given.is_absolute() else [root / given for root in real_roots]
    for candidate in candidates:
        real = candidate.resolve()
        if not any(real.is_relative_to(root) for root in real_roots):
            raise Forbidden(f"source path {source!r} is outside the allowed folders; "
                            "put the file under one of LESSONLENS_ALLOWED_ROOTS.",
                            code="path_not_allowed", detail={"source": source})
        if real.is_file():
            return real
    raise InvalidInput(f"source path {source!r} does not exist or is not a file.", code="source_not_found",
                       detail={"source": source})


def _open_no_follow(real: Path, roots: list[Path]) -> int:
    """Open ``real`` walking down from its allowed root one name at a time, following no symlink
    (a component swapped for a link fails with ELOOP/ENOTDIR). Returns a read-only descriptor."""
    root = next((r for r in (r.resolve() for r in roots) if real.is_relative_to(r)), None)
    if root is None and not roots:  # no roots: the API takes no path source, so a trusted process made it
        root = real.parent
    if root is None:
        raise Forbidden(f"source path {real.name!r} is outside the allowed folders (LESSONLENS_ALLOWED_ROOTS).",
                        code="path_not_allowed")
    parts = real.relative_to(root).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i, name in enumerate(parts):
            last = i == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            nxt = os.open(name, flags, dir_fd=fd)
            os.close(fd)
            fd = nxt
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{real.name} is not a regular file")
        return fd
    except BaseException:
        os.close(fd)
        raise


def identity(fd: int) -> str:
    """What names one version of one file: device, inode, size and modification time."""
    st = os.fstat(fd)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def open_path_source(location: str, roots: list[Path], expected: str | None = None) -> int:
    """Open a path source safely: under an allowed root, no symlink followed, and (when
    ``expected`` is given) the very file that was checked at submit. The caller closes the fd;
    ``fd_path(fd)`` names it for libraries that want a path.

    Raises:
        Forbidden (outside the roots, a symlink on the way), Conflict (the file changed since it
        was submitted), NotFound (gone).
    """
    real = Path(location)
    try:
        fd = _open_no_follow(real, roots)
    except FileNotFoundError:
        raise NotFound(f"source file {real.name!r} is no longer there.", detail={"file": real.name}) from None
    except OSError:
        raise Forbidden(f"source file {real.name!r} is not a plain file under the allowed folders "
                        "(a symbolic link is never followed).", code="path_not_allowed",
                        detail={"file": real.name}) from None
    if expected is not None and identity(fd) != expected:
        os.close(fd)
        raise Conflict(f"source file {real.name!r} was replaced or changed after the job was submitted; "
                       "submit it again.", code="source_changed", detail={"file": real.name})
    return fd


def fd_path(fd: int) -> Path:
    """A path that opens the same file as ``fd`` (Linux ``/proc``), whatever happens to its name."""
    return Path(f"/proc/self/fd/{fd}")


def check_source_url(url: str, *, allow_private: bool) -> str:
    """Submit-time check of a URL source (address rules shared with webhooks). Blocking (DNS)."""
    return check_url(url, allow_private=allow_private, what="source URL")


def _download(client: httpx.Client, url: str, dest: Path, max_bytes: int, deadline: float) -> httpx.URL | None:
    """GET one hop into ``dest``; returns the redirect target or None when the file is complete."""
    with client.stream("GET", url) as resp:
        if resp.is_redirect:
            return resp.url.join(urljoin(url, resp.headers.get("location", "")))
        if resp.status_code != 200:
            raise SourceError(f"source URL answered HTTP {resp.status_code}; check the link.")
        declared = int(resp.headers.get("content-length") or 0)
        if declared > max_bytes:
            raise SourceError(f"source URL is {megabytes(declared)} MB, above the limit of "
                              f"{megabytes(max_bytes)} MB (LESSONLENS_MAX_UPLOAD_MB).")
        size = 0
        with dest.open("wb") as out:
            for chunk in resp.iter_bytes(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"source URL is larger than the limit of {megabytes(max_bytes)} MB "
                                      "(LESSONLENS_MAX_UPLOAD_MB).")
                if time.monotonic() > deadline:
                    raise SourceError("source URL download took longer than LESSONLENS_URL_TIMEOUT_S.")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    return None


def fetch_url(url: str, storage: Storage, *, max_bytes: int, timeout_s: float,
              allow_private: bool) -> tuple[Path, MediaInfo]:
    """Download a URL source into ``incoming/`` and probe it (worker side).

    Raises:
        SourceError: refused address, HTTP error, too large, too slow, not media. No file is left.
    """
    import httpx  # imported on first use: keeps the server's start fast

    tmp = storage.incoming_path()
    deadline = time.monotonic() + timeout_s
    try:
        # Each hop is checked on the address it connects to (app.urls), redirects included.
        with pinned_client(allow_private=allow_private, what="source URL", timeout=min(timeout_s, 30)) as client:
            current = url
            for _ in range(MAX_REDIRECTS + 1):
                check_source_url(current, allow_private=allow_private)  # scheme and form of each hop
                nxt = _download(client, current, tmp, max_bytes, deadline)
                if nxt is None:
                    break
                current = str(nxt)
            else:
                raise SourceError(f"source URL redirected more than {MAX_REDIRECTS} times.")
        try:
            info = media.probe(tmp)
        except MediaError as e:
            raise SourceError(str(e).replace(str(tmp), "source URL"), code="unsupported_media") from None
        return tmp, info
    except httpx.HTTPError as e:
        tmp.unlink(missing_ok=True)
        raise SourceError(f"source URL could not be fetched ({type(e).__name__}: {e}).") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
