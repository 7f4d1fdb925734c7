"""One machine's whole stack in the foreground (`make run`): Redis, the API and WORKER_COUNT RQ workers.

Redis is REDIS_URL's (or REDIS_HOST's) when set, else the embedded redis-server under DATA_DIR, which this
stack stops again if it started it. Ctrl-C or SIGTERM stops everything: workers finish their current job first.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
from redis import Redis
from rq import Worker

SOURCE_ROOT = Path(__file__).resolve().parent
if str(SOURCE_ROOT) not in sys.path:
    sys.path.insert(0, str(SOURCE_ROOT))

from core.settings import Settings, get_settings  # noqa: E402
from queueing.embedded_redis import embedded_redis_running, ensure_embedded_redis, stop_embedded_redis  # noqa: E402

REPO_ROOT = SOURCE_ROOT.parent
START_TIMEOUT_S = 60.0
"""How long the API and the workers may take to come up (workers load the model first)."""

STOP_TIMEOUT_S = 60.0
"""How long a stopping process may take to finish its current job before it is killed."""


def start_api(env: Mapping[str, str], host: str, port: int, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """`uvicorn main:app` in the source root, answering /health when this returns."""
    args = [sys.executable, "-m", "uvicorn", "main:app", "--host", host, "--port", str(port)]
    process = _spawn(args, SOURCE_ROOT, env, log_file)
    wait_for_health(f"http://{host}:{port}", process)
    return process


def start_workers(env: Mapping[str, str], log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """`start_worker.sh`: WORKER_COUNT workers named after WORKER_ID."""
    return _spawn([str(REPO_ROOT / "start_worker.sh")], REPO_ROOT, {**env, "PYTHON": sys.executable}, log_file)


def stop(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> int:
    """SIGTERM, then SIGKILL if it has not exited within the timeout; return its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def wait_for_health(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with code {process.returncode} while starting")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API did not answer {base_url}/health within {START_TIMEOUT_S} s")


def wait_for_workers(redis_url: str, count: int, process: subprocess.Popen[bytes]) -> None:
    """Until `count` RQ workers are registered (each has loaded its model by then)."""
    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + START_TIMEOUT_S
    while Worker.count(connection=connection) < count:
        if process.poll() is not None:
            raise RuntimeError(f"the workers exited with code {process.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} worker(s) did not register within {START_TIMEOUT_S} s")
        time.sleep(0.1)


@contextmanager
def running_stack(settings: Settings, log_dir: Path | None = None, with_workers: bool = True) -> Iterator[str]:
    """Redis, API and (unless told not to) workers for the duration of the block; yields the API's base URL."""
    env = dict(os.environ)
    embedded_dir = settings.data_dir / "redis"
    owns_redis = settings.external_redis_url is None and not embedded_redis_running(embedded_dir)
    env["REDIS_URL"] = settings.external_redis_url or ensure_embedded_redis(embedded_dir)
    env["PORT"] = str(settings.port)
    env["DATA_DIR"] = str(settings.data_dir)
    api = workers = None
    try:
        api = start_api(env, settings.host, settings.port, log_dir / "api.log" if log_dir else None)
        if with_workers:
            workers = start_workers(env, log_dir / "workers.log" if log_dir else None)
            wait_for_workers(env["REDIS_URL"], settings.worker_count, workers)
        yield f"http://{settings.host}:{settings.port}"
    finally:
        for process in (workers, api):
            if process is not None:
                stop(process)
        if owns_redis:
            stop_embedded_redis(embedded_dir)


def main() -> int:
    settings = get_settings()
    stopping = False

    def request_stop(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with running_stack(settings) as url:
        print(f"API on {url} (docs at {url}/docs); {settings.worker_count} worker(s). Ctrl-C stops.", flush=True)
        while not stopping:
            time.sleep(0.2)
        print("stopping: workers finish their current job first", flush=True)
    return 0


def _spawn(args: list[str], cwd: Path, env: Mapping[str, str], log_file: Path | None) -> subprocess.Popen[bytes]:
    """Start a process, its output appended to `log_file` (or inherited when None)."""
    if log_file is None:
        return subprocess.Popen(args, cwd=cwd, env=dict(env))
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT)


if __name__ == "__main__":
    sys.exit(main())
