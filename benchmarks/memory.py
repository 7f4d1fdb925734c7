"""Memory: the API while it receives a 500 MB upload (streamed to storage, never held whole), a worker with the
model loaded, and a worker after 200 jobs (no growth).

Usage: `.venv/bin/python benchmarks/memory.py` (UPLOAD_MB, JOBS to change the sizes).
"""

import os
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
from harness import SAMPLES, bench_stack, machine, rss_mb
from redis import Redis
from rq import Worker

UPLOAD_MB = int(os.environ.get("UPLOAD_MB", "500"))
JOBS = int(os.environ.get("JOBS", "200"))
CHUNK = 1024 * 1024
FLAT_WITHIN_MB = 50
WARM_UP = 10


def wav_stream(megabytes: int) -> Iterator[bytes]:
    """A multipart body carrying a WAV of `megabytes` (a real header, then silence), made as it is sent."""
    data_bytes = megabytes * CHUNK
    header = (
        b"RIFF" + (36 + data_bytes).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (16000).to_bytes(4, "little")
        + (32000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
        + b"data" + data_bytes.to_bytes(4, "little")
    )  # fmt: skip
    yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n' + header
    silence = bytes(CHUNK)
    for _ in range(megabytes):
        yield silence
    yield b"\r\n--b--\r\n"


def peak_rss_during(pid: int, action: "threading.Thread") -> float:
    peak = 0.0
    action.start()
    while action.is_alive():
        peak = max(peak, rss_mb(pid))
        time.sleep(0.02)
    return max(peak, rss_mb(pid))


def run_jobs(http: httpx.Client, count: int) -> None:
    """`count` uploads of a 5.5 s sample, waiting until the last one has finished."""
    audio = (SAMPLES / "weather.mp3").read_bytes()
    ids = [http.post("/api/audio", files={"file": ("w.mp3", audio)}).json()["job_id"] for _ in range(count)]
    while http.get(f"/api/jobs/{ids[-1]}").json()["status"] not in ("completed", "failed"):
        time.sleep(0.5)


def worker_pids(redis_url: str) -> list[int]:
    return [w.pid for w in Worker.all(connection=Redis.from_url(redis_url)) if w.pid]


def main() -> None:
    rows: list[tuple[str, str]] = []
    with bench_stack(workers=1, MAX_UPLOAD_MB=str(UPLOAD_MB + 10)) as stack:
        api_pid = stack.api_pid()
        idle = rss_mb(api_pid)
        answer: list[int] = []

        def upload() -> None:
            headers = {**stack.headers(), "Content-Type": "multipart/form-data; boundary=b"}
            response = httpx.post(f"{stack.url}/api/audio", headers=headers, content=wav_stream(UPLOAD_MB), timeout=600)
            answer.append(response.status_code)
            # hours of silence: not worth transcribing here
            httpx.delete(f"{stack.url}/api/jobs/{response.json()['job_id']}/cancel", headers=stack.headers())

        print(f"uploading {UPLOAD_MB} MB ...", file=sys.stderr)
        peak = peak_rss_during(api_pid, threading.Thread(target=upload))
        rows.append(
            (
                f"API, idle → peak while receiving {UPLOAD_MB} MB (answer {answer[0]})",
                f"{idle:.0f} → {peak:.0f} MB (+{peak - idle:.0f}; target ≤ +{FLAT_WITHIN_MB})",
            )
        )

        redis_url = os.environ.get("REDIS_URL") or f"unix://{stack.settings.data_dir / 'redis' / 'redis.sock'}"
        [pid] = worker_pids(redis_url)
        rows.append(("worker with the model loaded, before any job", f"{rss_mb(pid):.0f} MB"))
        with httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=60) as http:
            run_jobs(http, WARM_UP)
            warm = rss_mb(pid)
            rows.append((f"worker after {WARM_UP} jobs (warm)", f"{warm:.0f} MB"))
            print(f"{JOBS} jobs ...", file=sys.stderr)
            run_jobs(http, JOBS)
        after = rss_mb(pid)
        rows.append((f"worker after {JOBS} more jobs", f"{after:.0f} MB ({after - warm:+.0f} since warm)"))
        children = psutil.Process(pid).children()
        rows.append(("worker's other processes (RQ scheduler)", ", ".join(f"{rss_mb(c.pid):.0f} MB" for c in children)))
    print(f"Memory (RSS); {machine()}\n")
    print("| what | RSS |")
    print("| --- | --- |")
    for what, value in rows:
        print(f"| {what} | {value} |")


if __name__ == "__main__":
    main()
