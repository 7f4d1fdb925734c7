"""Plain helpers of the router tests: an upload as a user sends it, and what an upload leaves behind."""

from pathlib import Path

import fakeredis
from fastapi.testclient import TestClient
from rq import Queue, Worker
from sqlalchemy import func, select

from core.settings import get_settings
from db.engine import open_session
from db.models import Job
from queueing.queues import worker_queues
from tests.conftest import SAMPLES, bearer

WAV = (SAMPLES / "hello.wav").read_bytes()


def upload(client: TestClient, data: bytes = WAV, user: str = "alice", name: str = "clip.wav", **form: str):
    return client.post("/api/audio", headers=bearer(user), files={"file": (name, data, "audio/wav")}, data=form)


def job_rows() -> int:
    with open_session(get_settings().sqlalchemy_url) as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def stored_files(data_dir: Path) -> list[Path]:
    root = data_dir / "storage"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def live_worker(connection: fakeredis.FakeRedis, diarizes: bool) -> None:
    """A live worker in RQ's registry, consuming what a worker with (or without) the diarization install does."""
    queues = [Queue(name, connection=connection) for name in worker_queues(diarizes)]
    Worker(queues, connection=connection, name="stt-diarizer" if diarizes else "stt-plain").register_birth()
