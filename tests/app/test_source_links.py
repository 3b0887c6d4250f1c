"""Signed source links (app.api.links): unit checks, and a real server streaming by one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.api.links import source_link, verify
from app.exceptions import Unauthorized
from tests.app.server_proc import ServerProcess

KEYS = {"key-a": "alice", "key-b": "bob"}


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_link_names_its_owner_until_it_expires() -> None:
    url, expires_at = source_link(KEYS, "job_1", "alice", now=1000.0, ttl_s=60)
    assert urlsplit(url).path == "/v1/jobs/job_1/source"
    assert "key-a" not in url and expires_at.startswith("1970-01-01T00:17:40")
    assert verify(KEYS, "job_1", _params(url), now=1059.0) == "alice"
    with pytest.raises(Unauthorized) as err:
        verify(KEYS, "job_1", _params(url), now=1061.0)
    assert err.value.code == "link_expired" and "POST /v1/jobs/job_1/source-link" in err.value.message


@pytest.mark.parametrize("change", [
    lambda p: {**p, "owner": "bob"},                      # someone else's job
    lambda p: {**p, "expires": str(int(p["expires"]) + 3600)},  # a longer life
    lambda p: {**p, "signature": "0" * 64},
    lambda p: {k: v for k, v in p.items() if k != "signature"},
])
def test_an_altered_link_is_refused(change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    url, _ = source_link(KEYS, "job_1", "alice")
    with pytest.raises(Unauthorized) as err:
        verify(KEYS, "job_1", change(_params(url)))
    assert err.value.code == "invalid_link"


def test_a_link_is_for_one_job_and_one_key_set() -> None:
    url, _ = source_link(KEYS, "job_1", "alice")
    with pytest.raises(Unauthorized):
        verify(KEYS, "job_2", _params(url))
    with pytest.raises(Unauthorized):  # the keys changed: every link is revoked
        verify({"key-c": "alice"}, "job_1", _params(url))
    with pytest.raises(Unauthorized):
        verify(KEYS, "job_1", {**_params(url), "expires": "soon"})


@pytest.mark.e2e
def test_a_video_streams_by_a_signed_link(start_server: Callable[..., ServerProcess], samples: Path) -> None:
    server = start_server(api_keys="alice:ka,bob:kb")
    data = (samples / "silent.mp4").read_bytes()
    with server.client() as c:
        auth = {"Authorization": "Bearer ka"}
        with (samples / "silent.mp4").open("rb") as f:
            r = c.post("/v1/jobs", files={"file": ("silent.mp4", f, "video/mp4")},
                       data={"stages": "subtitles"}, headers=auth)
        assert r.status_code in (200, 201, 202), r.text
        job_id = r.json()["id"]
        assert c.post(f"/v1/jobs/{job_id}/source-link").status_code == 401  # asking needs the key
        assert c.post(f"/v1/jobs/{job_id}/source-link", headers={"Authorization": "Bearer kb"}).status_code == 403
        link = c.post(f"/v1/jobs/{job_id}/source-link", headers=auth).json()
        assert link["expires_at"] and "ka" not in link["url"]
        assert c.get(f"/v1/jobs/{job_id}/source").status_code == 401  # the plain path still needs the key
        whole = c.get(link["url"])  # no header: the link is the credential
        assert whole.status_code == 200 and whole.content == data
        part = c.get(link["url"], headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        tampered = link["url"].replace("owner=alice", "owner=bob")
        assert c.get(tampered).json()["error"]["code"] == "invalid_link"


def test_credentials_in_urls_never_reach_the_access_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 18, defect 10: ``?access_token=KEY`` was written to the access log."""
    import logging

    from app.main import create_app
    from app.settings import Settings

    create_app(Settings(data_dir=tmp_path / "data", api_keys=["alice:secret-key"]))
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                    "/v1/jobs/job_1/events?access_token=secret-key&x=1", "1.1", 401)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                    "/v1/jobs/job_1/source?owner=alice&expires=9&signature=abcdef", "1.1", 200)
    text = caplog.text
    assert "secret-key" not in text and "abcdef" not in text
    assert "access_token=REDACTED&x=1" in text and "signature=REDACTED" in text
