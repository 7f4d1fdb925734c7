"""`make demo`: the main job end to end on embedded defaults.

Starts embedded Redis, the API and one RQ worker (SQLite and local storage in a fresh DATA_DIR), uploads a
bundled sample through the real RQ path, prints the job's status as it changes and the transcript, then stops
everything.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.security import create_token
from core.settings import Settings
from queueing.embedded_redis import free_port
from stack import REPO_ROOT, running_stack

SAMPLE = REPO_ROOT / "samples" / "hello.wav"
DEADLINE_S = 120.0


def main() -> int:
    data_dir = Path(os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="transcribe-demo-"))
    settings = Settings(data_dir=data_dir, port=free_port(), use_rq_queue=True, worker_count=1, worker_id="demo-worker")
    os.environ.update(USE_RQ_QUEUE="true", WORKER_COUNT="1", WORKER_ID="demo-worker")
    print(f"data in {data_dir}; starting embedded Redis, the API and one worker ...", flush=True)
    with running_stack(settings, log_dir=data_dir / "logs") as api:
        token = create_token(settings.secret("jwt_secret"), "demo-user")
        with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            started = time.monotonic()
            with SAMPLE.open("rb") as audio:
                accepted = client.post("/api/audio", files={"file": (SAMPLE.name, audio, "audio/wav")})
            print(f"POST /api/audio -> {accepted.status_code} {accepted.json()}", flush=True)
            accepted.raise_for_status()
            job = _follow(client, accepted.json()["job_id"], started)
    print(f"logs in {data_dir / 'logs'}; everything stopped.")
    if job["status"] != "completed":
        print(f"the job ended {job['status']}: {job['error']}", file=sys.stderr)
        return 1
    print(f"\ntranscript ({job['result']['duration']:.1f} s of audio, {job['result']['language']}):")
    print(f"  {job['result']['text']}")
    return 0


def _follow(client: httpx.Client, job_id: str, started: float) -> dict:  # type: ignore[type-arg]
    seen = None
    while time.monotonic() - started < DEADLINE_S:
        job = client.get(f"/api/jobs/{job_id}").json()
        state = (job["status"], job["current_step"], job["progress"])
        if state != seen:
            seen = state
            print(
                f"  {time.monotonic() - started:6.2f} s  status={job['status']} step={job['current_step']}", flush=True
            )
        if job["status"] in ("completed", "failed", "canceled"):
            return dict(job)
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} did not finish within {DEADLINE_S} s")


if __name__ == "__main__":
    sys.exit(main())
