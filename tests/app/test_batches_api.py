"""Batches: aggregation of job states (unit), the API in process (TestClient) and through a real
server (e2e)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import batches as batch_routes
from app.jobs import (
    Batch,
    BatchStatus,
    Job,
    JobStatus,
    Rejected,
    Source,
    StageState,
    StageStatus,
    aggregate,
    new_batch_id,
)
from app.main import create_app
from app.settings import Settings
from app.store import Lease, SqlJobStore
from tests.app.receiver import Receiver
from tests.app.server_proc import ServerProcess, wait_for

SECRET = "batch-webhook-secret"


def _job(status: JobStatus, progress: float = 0.0) -> Job:
    return Job(id=f"j{id(object())}", owner="k", source=Source(kind="path", location="/x/a.mp4"),
               stages=("media",), options={}, status=status,
               stage_states={"media": StageState(status=StageStatus.RUNNING, progress=progress)})


@pytest.mark.parametrize(("statuses", "expected"), [
    ([JobStatus.SUCCEEDED, JobStatus.SUCCEEDED], BatchStatus.SUCCEEDED),
    ([JobStatus.SUCCEEDED, JobStatus.FAILED], BatchStatus.PARTIALLY_FAILED),
    ([JobStatus.FAILED, JobStatus.CANCELLED], BatchStatus.FAILED),
    ([JobStatus.CANCELLED, JobStatus.CANCELLED], BatchStatus.CANCELLED),
    ([JobStatus.SUCCEEDED, JobStatus.RUNNING], BatchStatus.RUNNING),
    ([JobStatus.QUEUED], BatchStatus.RUNNING),
])
def test_status(statuses: list[JobStatus], expected: BatchStatus) -> None:
    assert aggregate([_job(s) for s in statuses]).status == expected


def test_a_batch_without_jobs_failed_only_if_it_never_made_one() -> None:
    assert aggregate([], made_jobs=False).status == BatchStatus.FAILED  # every file was rejected
    assert aggregate([]).status == BatchStatus.SUCCEEDED  # its jobs, all ended, were deleted since


def test_counts_and_progress() -> None:
    summary = aggregate([_job(JobStatus.SUCCEEDED), _job(JobStatus.RUNNING, 0.5), _job(JobStatus.FAILED)])
    assert summary.counts["succeeded"] == 1
    assert summary.counts["running"] == 1
    assert summary.counts["failed"] == 1
    assert summary.counts["queued"] == 0
    assert summary.progress == pytest.approx((1 + 0.5 + 1) / 3, abs=1e-3)


def test_store_round_trip_and_finish_once(tmp_path: Path) -> None:
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    batch = Batch(id=new_batch_id(), owner="k", folder="/in", stages=["subtitles"], options={},
                  job_ids=["j1", "j2"], rejected=[Rejected(path="notes.txt", reason="not media")])
    store.create_batch(batch)
    assert store.get_batch(batch.id) == batch
    assert [b.id for b in store.list_batches("k", 10)] == [batch.id]
    assert store.list_batches("other", 10) == []
    assert store.finish_batch(batch.id) is True
    assert store.finish_batch(batch.id) is False
    finished = store.get_batch(batch.id)
    assert finished is not None and finished.finished_at is not None
    store.close()


SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "build"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """An in-process API whose allowed root is ``tmp_path/root``, with the given settings."""
    clients: list[TestClient] = []

    def start(**settings: Any) -> TestClient:
        client = TestClient(create_app(Settings(data_dir=tmp_path / "data", allowed_roots=[tmp_path / "root"],
                                                **settings)))
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _folder(tmp_path: Path, media_dir: Path, name: str, media: int, *others: str) -> Path:
    """``root/name`` with ``media`` copies of ``silent.mp4`` and the named files of ``media_dir``."""
    folder = tmp_path / "root" / name
    folder.mkdir(parents=True)
    for n in range(media):
        shutil.copy(media_dir / "silent.mp4", folder / f"lesson{n}.mp4")
    for other in others:
        shutil.copy(media_dir / other, folder / other)
    return folder


def test_a_batch_larger_than_the_key_s_room_is_refused_whole(api: Callable[..., TestClient], tmp_path: Path,
                                                             media_dir: Path) -> None:
    """Five lessons against a limit of 2: 429 naming the numbers, and no job or batch is made (it
    made 2 jobs, rejected 3 good files as "2 jobs are queued or running" and ended succeeded)."""
    c = api(queue_limit_per_key=2)
    five = _folder(tmp_path, media_dir, "five", 5, "text.mp4")
    r = c.post("/v1/batches", json={"folder": str(five), "stages": ["subtitles"]})
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "too_many_jobs"
    assert "5 media file(s)" in error["message"] and "room for 2" in error["message"]
    assert "LESSONLENS_QUEUE_LIMIT_PER_KEY" in error["message"]
    assert error["detail"] == {"media_files": 5, "active": 0, "limit": 2, "room": 2}
    assert c.get("/v1/jobs").json()["jobs"] == [] and c.get("/v1/batches").json()["batches"] == []
    # Three files, two of them media: they fit, and only the file that is not media is rejected.
    two = _folder(tmp_path, media_dir, "two", 2, "text.mp4")
    r = c.post("/v1/batches", json={"folder": str(two), "stages": ["subtitles"]})
    assert r.status_code == 201, r.text
    assert len(r.json()["job_ids"]) == 2 and [x["path"] for x in r.json()["rejected"]] == ["text.mp4"]


def test_a_batch_refused_part_way_takes_its_jobs_back(api: Callable[..., TestClient], tmp_path: Path,
                                                      media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another request takes the room between the check and the jobs: 429, and the jobs made so
    far are taken back (deleted, or cancelled where a worker had started one)."""
    c = api(queue_limit_per_key=2)
    store = c.app.state.services.store  # type: ignore[attr-defined]
    other = Job(id="job_other", owner="anonymous", source=Source(kind="path", location="/x/a.mp4"),
                stages=("subtitles",), options={})
    store.create(other)
    assert store.claim(other.id, Lease(holder="elsewhere")) is not None  # running, elsewhere: takes room
    monkeypatch.setattr(batch_routes, "media_in_room", lambda services, owner, files: (files, []))  # looked free
    folder = _folder(tmp_path, media_dir, "course", 2)
    r = c.post("/v1/batches", json={"folder": str(folder), "stages": ["subtitles"]})
    assert r.status_code == 429, r.text
    assert "no job was made" in r.json()["error"]["message"]
    assert c.get("/v1/batches").json()["batches"] == []

    def taken_back() -> bool:
        jobs = c.get("/v1/jobs").json()["jobs"]
        return all(j["id"] == other.id or j["status"] == "cancelled" for j in jobs)

    wait_for(taken_back, 30, "the batch's job to be deleted or cancelled")


def test_a_batch_of_rejected_files_only_ends_at_once_failed(api: Callable[..., TestClient], tmp_path: Path,
                                                            media_dir: Path) -> None:
    """No file became a job: the batch ends when made (failed, finished_at set) and sends its
    webhook (it said succeeded, finished_at null, and never sent it)."""
    c = api(webhook_secret=SECRET, allow_private_urls=True)
    folder = _folder(tmp_path, media_dir, "notes", 0, "text.mp4")
    (folder / "a.txt").write_text("notes")
    with Receiver(SECRET) as receiver:
        r = c.post("/v1/batches", json={"folder": str(folder), "stages": ["subtitles"],
                                        "webhook_url": receiver.url})
        assert r.status_code == 201, r.text
        batch = r.json()
        assert batch["job_ids"] == [] and sorted(x["path"] for x in batch["rejected"]) == ["a.txt", "text.mp4"]
        assert batch["status"] == "failed" and batch["progress"] == 1.0 and batch["finished_at"]
        assert c.get(f"/v1/batches/{batch['id']}").json()["finished_at"] == batch["finished_at"]
        wait_for(lambda: receiver.received or None, 30, "the batch webhook")
        event = receiver.received[0]
        assert event["valid"] and event["body"]["type"] == "batch.finished"
        assert event["body"]["data"]["status"] == "failed" and len(event["body"]["data"]["rejected"]) == 2


@pytest.mark.e2e
def test_batch_through_a_real_server(start_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    """Two videos, a truncated one and a text file: two jobs, two rejects, the batch ends succeeded."""
    root = tmp_path / "root"
    folder = root / "course"
    (folder / "part2").mkdir(parents=True)
    shutil.copy(SAMPLES / "silent.mp4", folder / "a.mp4")
    shutil.copy(SAMPLES / "silent.mp4", folder / "part2" / "b.mp4")
    data = (SAMPLES / "silent.mp4").read_bytes()
    (folder / "broken.mp4").write_bytes(data[: len(data) // 3])
    (folder / "notes.txt").write_text("not a video")
    shutil.copy(SAMPLES / "silent.mp4", tmp_path / "private.mp4")
    (folder / "outside.mp4").symlink_to(tmp_path / "private.mp4")  # leaves the folder: refused
    (folder / "dangling.mp4").symlink_to(tmp_path / "nothing.mp4")
    (root / "empty").mkdir()
    server = start_server(api_keys="alice:ka,bob:kb", allowed_roots=str(root), webhook_secret=SECRET,
                          allow_private_urls="true")
    alice, bob = {"Authorization": "Bearer ka"}, {"Authorization": "Bearer kb"}
    with server.client() as c, Receiver(SECRET) as receiver:
        r = c.post("/v1/batches", json={"folder": str(folder), "stages": ["subtitles"],
                                        "webhook_url": receiver.url}, headers=alice)
        assert r.status_code == 201, r.text
        batch = r.json()
        assert len(batch["jobs"]) == 2
        assert sorted(x["path"] for x in batch["rejected"]) == [
            "broken.mp4", "dangling.mp4", "notes.txt", "outside.mp4"]
        assert all(x["reason"] for x in batch["rejected"])
        reasons = {x["path"]: x["reason"] for x in batch["rejected"]}
        assert "outside the folder" in reasons["outside.mp4"] and "broken link" in reasons["dangling.mp4"]

        def ended() -> dict[str, object] | None:
            body = c.get(f"/v1/batches/{batch['id']}", headers=alice).json()
            return body if body["status"] != "running" else None

        final = wait_for(ended, 120, "the batch to end")
        assert final["status"] == "succeeded" and final["counts"]["succeeded"] == 2
        assert final["progress"] == 1.0
        wait_for(lambda: receiver.received or None, 30, "the batch webhook")
        event = receiver.received[0]
        assert event["valid"] and event["body"]["type"] == "batch.finished"
        assert event["body"]["data"]["counts"]["succeeded"] == 2
        assert len(event["body"]["data"]["rejected"]) == 4
        assert len(receiver.received) == 1  # one batch event; no per-job events unless asked
        assert c.get(f"/v1/batches/{batch['id']}", headers=bob).status_code == 403
        assert [b["id"] for b in c.get("/v1/batches", headers=alice).json()["batches"]] == [batch["id"]]

        assert c.post("/v1/batches", json={"folder": str(tmp_path)}, headers=alice).status_code == 403
        assert c.post("/v1/batches", json={"folder": str(root / "nope")}, headers=alice).status_code == 422
        empty = c.post("/v1/batches", json={"folder": str(root / "empty")}, headers=alice)
        assert empty.status_code == 422 and "no files" in empty.json()["error"]["message"]


@pytest.mark.parametrize("folder", ["/data/\x00x", "/data/\udc80bad", "relative/path"])
def test_unusable_folder_paths_are_client_errors(folder: str, tmp_path: Path) -> None:
    from app.api.batches import resolve_folder
    from app.exceptions import InvalidInput

    with pytest.raises(InvalidInput):
        resolve_folder(folder, [tmp_path])


@pytest.mark.e2e
def test_list_limit_is_validated(start_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = start_server(allowed_roots=str(tmp_path))
    with server.client() as c:
        for limit in ("-8698595578711580344", "0", "201"):
            r = c.get("/v1/batches", params={"limit": limit})
            assert r.status_code == 422 and r.json()["error"]["code"]
        assert c.get("/v1/batches", params={"limit": "5"}).status_code == 200


@pytest.mark.e2e
def test_a_batch_webhook_url_is_checked_before_any_job(start_server: Callable[..., ServerProcess],
                                                       tmp_path: Path) -> None:
    """An unusable webhook_url is refused at once (422), and no job or batch is left behind."""
    folder = tmp_path / "root" / "course"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLES / "silent.mp4", folder / "a.mp4")
    no_secret = start_server(data_dir=tmp_path / "d1", allowed_roots=str(tmp_path / "root"))
    with no_secret.client() as c:
        r = c.post("/v1/batches", json={"folder": str(folder), "webhook_url": "https://example.com/hook"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "webhooks_disabled", r.text
        assert c.get("/v1/batches").json()["batches"] == []
        assert c.get("/v1/jobs").json()["jobs"] == []
    private = start_server(data_dir=tmp_path / "d2", allowed_roots=str(tmp_path / "root"), webhook_secret=SECRET)
    with private.client() as c:
        r = c.post("/v1/batches", json={"folder": str(folder), "webhook_url": "http://127.0.0.1:9/hook"})
        assert r.status_code == 422 and "webhook_url" in r.json()["error"]["message"], r.text
        assert c.get("/v1/batches").json()["batches"] == []
        assert c.get("/v1/jobs").json()["jobs"] == []
