"""Accept latency: `POST /api/audio` with a 1 MB recording, 32 concurrent clients for 30 s, while 2 workers are busy.

The same load runs against USE_RQ_QUEUE=true (2 RQ workers, at the default WORKER_NICE=10 and at 0) and
USE_RQ_QUEUE=false (BackgroundTasks: every upload is transcribed in the API process), in one run; the table gives
p50/p95/p99 and their ratios. The load generator runs on the same 2-core machine as the stack, so all modes pay
for it alike.

32 clients back to back is a closed loop: each client sends its next upload when the last is answered, so the
latency is 32 / the uploads per second the machine can take, whatever the API does. A second, open-loop load
sends RATE uploads per second on a fixed schedule (latency counted from the scheduled moment, so a stalled API
cannot hide its backlog; what is not answered within GRACE_S of the schedule's end counts as not accepted): the
latency an uploader sees at a rate the machine can serve, with the workers busy.

Usage: `.venv/bin/python benchmarks/accept_latency.py` (CLIENTS, SECONDS, RATE to change the load).
"""

import io
import os
import sys
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor

import httpx
from harness import SAMPLES, bench_stack, machine, percentile

CLIENTS = int(os.environ.get("CLIENTS", "32"))
SECONDS = float(os.environ.get("SECONDS", "30"))
RATE = float(os.environ.get("RATE", "10"))
GRACE_S = 10.0
"""Open loop: an upload not answered within this long after the schedule ends counts as not accepted."""
TARGET_P99_MS = 100.0


def one_megabyte_recording() -> bytes:
    """hello.wav repeated to 1 MiB of 16 kHz mono PCM (about 33 s of speech)."""
    with wave.open(str(SAMPLES / "hello.wav")) as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setparams(params)
        target.writeframes((frames * (2**20 // len(frames) + 1))[: 2**20 - 44])
    return out.getvalue()


def load(url: str, headers: dict[str, str], body: bytes) -> tuple[list[float], int]:
    """CLIENTS threads uploading back to back for SECONDS; latencies in ms of the 202s, and the other answers."""
    latencies: list[float] = []
    refused = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def client() -> None:
        nonlocal refused
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            while time.monotonic() < stop_at:
                began = time.perf_counter()
                try:
                    status = http.post("/api/audio", files={"file": ("one-mb.wav", body, "audio/wav")}).status_code
                except httpx.HTTPError:
                    status = 0
                spent_ms = 1000 * (time.perf_counter() - began)
                with lock:
                    if status == 202:
                        latencies.append(spent_ms)
                    else:
                        refused += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, refused


def paced(url: str, headers: dict[str, str], body: bytes) -> tuple[list[float], int]:
    """RATE uploads per second for SECONDS on a fixed schedule; latencies in ms from each scheduled moment."""
    latencies: list[float] = []
    refused = 0
    lock = threading.Lock()
    local = threading.local()
    start = time.perf_counter() + 0.5
    give_up_at = start + SECONDS + GRACE_S

    def upload(due: float) -> None:
        nonlocal refused
        time.sleep(max(0.0, due - time.perf_counter()))
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=url, headers=headers)
        left = give_up_at - time.perf_counter()
        try:
            if left <= 0:
                raise httpx.TimeoutException("not sent: every client was still waiting for an answer")
            response = local.http.post("/api/audio", files={"file": ("one-mb.wav", body, "audio/wav")}, timeout=left)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        with lock:
            if status == 202:
                latencies.append(1000 * (time.perf_counter() - due))
            else:
                refused += 1

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for number in range(int(RATE * SECONDS)):
            pool.submit(upload, start + number / RATE)
    return latencies, refused


def main() -> None:
    body = one_megabyte_recording()
    rows: dict[str, tuple[float, float, float, int, int]] = {}
    open_rows: dict[str, tuple[float, float, float, int, int]] = {}
    for mode, env, workers in (
        ("RQ (USE_RQ_QUEUE=true)", {"USE_RQ_QUEUE": "true"}, 2),
        ("RQ, workers not niced (WORKER_NICE=0)", {"USE_RQ_QUEUE": "true", "WORKER_NICE": "0"}, 2),
        ("BackgroundTasks (false)", {"USE_RQ_QUEUE": "false"}, 0),
    ):
        print(f"{mode}: {CLIENTS} clients for {SECONDS:.0f} s, then {RATE:.0f}/s for {SECONDS:.0f} s", file=sys.stderr)
        with bench_stack(workers=workers, **env) as stack:
            rows[mode] = summary(*load(stack.url, stack.headers(), body))
        with bench_stack(workers=workers, **env) as stack:
            open_rows[mode] = summary(*paced(stack.url, stack.headers(), body))
    print(f"Accept latency of a 1 MiB upload while the transcriptions of the uploads run; {machine()}\n")
    for title, table in (
        (f"Closed loop: {CLIENTS} clients back to back for {SECONDS:.0f} s", rows),
        (f"Open loop: {RATE:.0f} uploads/s on a fixed schedule for {SECONDS:.0f} s", open_rows),
    ):
        rq, bg = table["RQ (USE_RQ_QUEUE=true)"], table["BackgroundTasks (false)"]
        print(f"{title}:\n")
        print("| mode | p50 ms | p95 ms | p99 ms | accepted | uploads/s | not accepted |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for mode, (p50, p95, p99, accepted, refused) in table.items():
            print(f"| {mode} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {accepted} | {accepted / SECONDS:.1f} | {refused} |")
        print(
            f"| BackgroundTasks ÷ RQ | {bg[0] / rq[0]:.1f}× | {bg[1] / rq[1]:.1f}× | {bg[2] / rq[2]:.1f}× | "
            f"{bg[3] / rq[3]:.2f}× | | |"
        )
        verdict = "holds" if rq[2] <= TARGET_P99_MS else f"misses by {rq[2] - TARGET_P99_MS:.0f} ms"
        print(f"\nTarget: RQ p99 ≤ {TARGET_P99_MS:.0f} ms — {verdict}.\n")


def summary(latencies: list[float], refused: int) -> tuple[float, float, float, int, int]:
    """p50, p95, p99, accepted, not accepted."""
    if not latencies:
        return (float("nan"),) * 3 + (0, refused)
    return (
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
        len(latencies),
        refused,
    )


if __name__ == "__main__":
    main()
