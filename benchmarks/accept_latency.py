"""Accept latency: `POST /api/audio` with a 1 MB recording, 32 concurrent clients for 30 s, while 2 workers are busy.

The same load runs against USE_RQ_QUEUE=true (2 RQ workers) and USE_RQ_QUEUE=false (BackgroundTasks: every
upload is transcribed in the API process), in one run; the table gives p50/p95/p99 and their ratios. The load
generator runs on the same 2-core machine as the stack, so both modes pay for it alike.

Usage: `.venv/bin/python benchmarks/accept_latency.py` (CLIENTS, SECONDS to change the load).
"""

import io
import os
import sys
import threading
import time
import wave

import httpx
from harness import SAMPLES, bench_stack, machine, percentile

CLIENTS = int(os.environ.get("CLIENTS", "32"))
SECONDS = float(os.environ.get("SECONDS", "30"))
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


def main() -> None:
    body = one_megabyte_recording()
    rows: dict[str, tuple[float, float, float, int, int]] = {}
    for mode, env, workers in (
        ("RQ (USE_RQ_QUEUE=true)", {"USE_RQ_QUEUE": "true"}, 2),
        ("BackgroundTasks (false)", {"USE_RQ_QUEUE": "false"}, 0),
    ):
        print(f"{mode}: {CLIENTS} clients for {SECONDS:.0f} s ...", file=sys.stderr)
        with bench_stack(workers=workers, **env) as stack:
            latencies, refused = load(stack.url, stack.headers(), body)
        rows[mode] = (
            percentile(latencies, 0.50),
            percentile(latencies, 0.95),
            percentile(latencies, 0.99),
            len(latencies),
            refused,
        )
    rq, bg = rows["RQ (USE_RQ_QUEUE=true)"], rows["BackgroundTasks (false)"]
    print(f"Accept latency of a 1 MiB upload, {CLIENTS} clients for {SECONDS:.0f} s; {machine()}\n")
    print("| mode | p50 ms | p95 ms | p99 ms | accepted | uploads/s | not accepted |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mode, (p50, p95, p99, accepted, refused) in rows.items():
        print(f"| {mode} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {accepted} | {accepted / SECONDS:.1f} | {refused} |")
    print(
        f"| BackgroundTasks ÷ RQ | {bg[0] / rq[0]:.1f}× | {bg[1] / rq[1]:.1f}× | {bg[2] / rq[2]:.1f}× | "
        f"{bg[3] / rq[3]:.2f}× | | |"
    )
    verdict = "holds" if rq[2] <= TARGET_P99_MS else f"misses by {rq[2] - TARGET_P99_MS:.0f} ms"
    print(f"\nTarget: RQ p99 ≤ {TARGET_P99_MS:.0f} ms — {verdict}.")


if __name__ == "__main__":
    main()
