"""Time from upload to transcript for every bundled sample and ../shared/audio/jfk.flac (where ../shared is not,
the project's generated `short_english` instead), on the real stack.

Starts embedded Redis, the API and WORKER_COUNT workers (default 1) in a fresh DATA_DIR, then for each clip,
ROUNDS times (default 3), one at a time: the 202's latency, and upload → `completed` as seen by polling every
20 ms. Prints one row per clip with the medians. Usage: `.venv/bin/python benchmarks/upload_to_transcript.py`.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "back-end"))

from harness import clip_name, speech_clip, speech_note  # noqa: E402

from core.security import create_token  # noqa: E402
from core.settings import Settings  # noqa: E402
from queueing.embedded_redis import free_port  # noqa: E402
from stack import running_stack  # noqa: E402

SAMPLES = sorted(p for p in (REPO_ROOT / "samples").iterdir() if p.suffix not in (".txt", ".json", ".md", ".py"))
POLL_S = 0.02


def main() -> None:
    rounds = int(os.environ.get("ROUNDS", "3"))
    workers = int(os.environ.get("WORKER_COUNT", "1"))
    speech = speech_clip()
    clips = [*SAMPLES, speech]
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    settings = Settings(data_dir=data_dir, port=free_port(), worker_count=workers, use_rq_queue=True)
    os.environ.update(WORKER_COUNT=str(workers), USE_RQ_QUEUE="true")
    with running_stack(settings, log_dir=data_dir / "logs") as api:
        token = create_token(settings.secret("jwt_secret"), "bench")
        with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            print(f"Clips: the samples and {speech_note(speech)}.\n")
            print(f"{'clip':<18} {'audio s':>7} {'202 ms':>7} {'to transcript s':>15} {'RTF':>5}")
            for clip in clips:
                accepts, totals, audio_s = [], [], 0.0
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = client.post("/api/audio", files={"file": (clip.name, clip.read_bytes())})
                    accepts.append(time.perf_counter() - started)
                    job_id = response.json()["job_id"]
                    while (job := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("completed", "failed"):
                        time.sleep(POLL_S)
                    totals.append(time.perf_counter() - started)
                    audio_s = job["result"]["duration"]
                total = statistics.median(totals)
                print(
                    f"{clip_name(clip):<18} {audio_s:>7.2f} {statistics.median(accepts) * 1000:>7.1f} "
                    f"{total:>15.2f} {total / audio_s:>5.2f}"
                )


if __name__ == "__main__":
    main()
