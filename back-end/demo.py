"""`make demo`: the main job end to end on embedded defaults.

Starts embedded Redis, the API and one RQ worker (SQLite and local storage in a fresh DATA_DIR), then the
command-line client uploads a bundled sample through the real RQ path, follows its status and progress over
the SSE stream, and prints the transcript; then everything stops.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.security import create_token
from core.settings import Settings
from queueing.embedded_redis import free_port
from stack import REPO_ROOT, running_stack

sys.path.insert(0, str(REPO_ROOT))

from client.__main__ import main as client_main  # the repository root is on the path only now

SAMPLE = REPO_ROOT / "samples" / "hello.wav"


def main() -> int:
    data_dir = Path(os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="transcribe-demo-"))
    settings = Settings(data_dir=data_dir, port=free_port(), use_rq_queue=True, worker_count=1, worker_id="demo-worker")
    os.environ.update(USE_RQ_QUEUE="true", WORKER_COUNT="1", WORKER_ID="demo-worker")
    print(f"data in {data_dir}; starting embedded Redis, the API and one worker ...", flush=True)
    with running_stack(settings, log_dir=data_dir / "logs") as api:
        print(f"API on {api}; transcribing {SAMPLE.relative_to(REPO_ROOT)} through the RQ queue:", flush=True)
        token = create_token(settings.secret("jwt_secret"), "demo-user")
        code = client_main(["transcribe", str(SAMPLE), "--url", api, "--token", token])
    print(f"logs in {data_dir / 'logs'}; everything stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
