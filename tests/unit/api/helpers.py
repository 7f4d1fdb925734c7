"""Plain helpers of the router tests: an upload as a user sends it, and what an upload leaves behind."""

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.settings import get_settings
from db.engine import open_session
from db.models import Job
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
