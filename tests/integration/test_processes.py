"""The processes themselves: graceful worker shutdown, and `make run`'s stack starting and stopping."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from queueing.embedded_redis import embedded_redis_running, free_port
from stack import REPO_ROOT, wait_for_health
from tests.conftest import SAMPLES, long_speech
from tests.integration.conftest import ApiClient, Stack


def test_sigterm_lets_the_current_job_finish_then_workers_exit_0(stack: Stack, tmp_path: Path) -> None:
    api = stack.api()
    workers = stack.workers(2, worker_id="graceful")
    accepted = api.upload(long_speech(tmp_path / "long.wav"))  # 145 s of speech: long enough to stop in the middle
    while api.job(accepted["job_id"])["status"] != "started":
        time.sleep(0.05)

    workers.send_signal(signal.SIGTERM)
    code = workers.wait(timeout=120)

    job = api.job(accepted["job_id"])
    assert code == 0
    assert job["status"] == "completed", job
    assert job["result"]["duration"] > 130
    later = api.upload(SAMPLES / "hello.wav")  # nobody is left to take new work
    time.sleep(1)
    assert api.job(later["job_id"])["status"] == "queued"


def test_make_run_stack_serves_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"  # short: the embedded Redis listens on a unix socket under it
    port = free_port()
    secret = secrets.token_urlsafe(32)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DATABASE", "TEST_"))},
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "WORKER_COUNT": "1",
        "WORKER_ID": "run-test",
        "JWT_SECRET": secret,
    }
    api = ApiClient(f"http://127.0.0.1:{port}", secret)
    run = subprocess.Popen([sys.executable, str(REPO_ROOT / "back-end" / "stack.py")], env=env, cwd=tmp_path)
    try:
        wait_for_health(api.base_url, run)
        job = api.wait(api.upload(SAMPLES / "weather.mp3")["job_id"])
        assert job["status"] == "completed", job
        assert embedded_redis_running(data_dir / "redis")
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=90)

    assert code == 0
    assert not embedded_redis_running(data_dir / "redis")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{api.base_url}/health", timeout=1)
