"""Pipeline efficiency: 40 clips through 1 and 2 workers, against the ideal of bare transcription.

Ideal wall time = the sum of each clip's bare transcription time (the engine called directly, in this process,
with the threads a worker gets: cores / workers) / workers. Efficiency = ideal / measured wall time, from the
first upload to the last job's completion. Per-job overhead, from the job rows' timestamps (the workers'
clocks, the same machine): inside a job, (completed - started) - bare time (fetch, decode, webhook); between two
jobs of one worker, next started - previous completed (dequeue and bookkeeping).

Usage: `.venv/bin/python benchmarks/pipeline_efficiency.py` (CLIPS to change the count).
"""

import itertools
import os
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from harness import SAMPLES, bench_stack, machine, median, percentile, speech_clip, speech_note

CLIPS = int(os.environ.get("CLIPS", "40"))
SPEECH = speech_clip()
"""jfk.flac, or without ../shared the generated short_english: about 11 s of one speaker."""
SOURCES = [*(SAMPLES / n for n in ("hello.wav", "meeting.flac", "weather.mp3", "delivery.ogg", "reminder.m4a",
                                   "travel.webm")), SPEECH]  # fmt: skip


def bare_seconds(threads: int) -> dict[Path, float]:
    """Median of 3 direct transcriptions of each source clip, with `threads` CPU threads."""
    from audio.decode import decode_for_stt
    from stt.faster_whisper_engine import FasterWhisperEngine
    from stt.models import TINY_EN, ModelRef, tiny_en_directory

    engine = FasterWhisperEngine(ModelRef(TINY_EN, str(tiny_en_directory())), "cpu", "int8", threads, 1)
    timings: dict[Path, float] = {}
    for path in SOURCES:
        audio = decode_for_stt(path)
        runs = []
        for _ in range(3):
            began = time.perf_counter()
            engine.transcribe(audio)
            runs.append(time.perf_counter() - began)
        timings[path] = median(runs)
    return timings


def decode_seconds() -> dict[Path, float]:
    """Median of 3 decodes of each source clip to 16 kHz mono (PyAV), as a job does before transcribing."""
    from audio.decode import decode_for_stt

    timings: dict[Path, float] = {}
    for path in SOURCES:
        runs = []
        for _ in range(3):
            began = time.perf_counter()
            decode_for_stt(path)
            runs.append(time.perf_counter() - began)
        timings[path] = median(runs)
    return timings


def run(workers: int, bare: dict[Path, float]) -> dict[str, float]:
    clips = [SOURCES[i % len(SOURCES)] for i in range(CLIPS)]
    with bench_stack(workers=workers) as stack, httpx.Client(base_url=stack.url, headers=stack.headers()) as http:
        began = time.time()
        ids = [http.post("/api/audio", files={"file": (c.name, c.read_bytes())}).json()["job_id"] for c in clips]
        while any(http.get(f"/api/jobs/{i}").json()["status"] in ("queued", "started") for i in ids[-workers:]):
            time.sleep(0.2)
        rows = _rows(stack.settings.sqlalchemy_url, ids)
    assert all(status == "completed" for status, *_ in rows), "a job did not complete"
    inside = [(done - start) - bare[clip] for (_, start, done, _), clip in zip(rows, clips, strict=True)]
    between: list[float] = []
    for worker in {w for *_, w in rows}:
        spans = sorted((start, done) for _, start, done, w in rows if w == worker)
        between += [nxt[0] - prev[1] for prev, nxt in itertools.pairwise(spans)]
    wall = max(done for _, _, done, _ in rows) - began
    ideal = sum(bare[clip] for clip in clips) / workers
    return {
        "wall": wall,
        "ideal": ideal,
        "inside_p50": percentile(inside, 0.5),
        "inside_p95": percentile(inside, 0.95),
        "between_p50": percentile(between, 0.5),
        "between_p95": percentile(between, 0.95),
    }


def _rows(url: str, ids: list[str]) -> list[tuple[str, float, float, str]]:
    """(status, started, completed, worker) of each job, in upload order."""
    query = f"SELECT id, status, started_at, completed_at, worker_id FROM jobs WHERE id IN ({','.join('?' * len(ids))})"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        found = {
            job_id: (status, _epoch(started), _epoch(done), worker)
            for job_id, status, started, done, worker in db.execute(query, ids)
        }
    return [found[job_id] for job_id in ids]


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def main() -> None:
    cores = os.cpu_count() or 1
    results = {}
    decode = decode_seconds()
    decode_ms = [1000 * decode[SOURCES[i % len(SOURCES)]] for i in range(CLIPS)]
    for workers in (1, 2):
        print(f"bare transcription with {max(1, cores // workers)} threads ...", file=sys.stderr)
        bare = bare_seconds(max(1, cores // workers))
        print(f"{CLIPS} clips through {workers} worker(s) ...", file=sys.stderr)
        results[workers] = run(workers, bare)
    print(f"{CLIPS} clips (the six samples and {speech_note(SPEECH)} in turn); {machine()}\n")
    print("| workers | wall s | ideal s | efficiency | overhead in a job p50 / p95 ms | between jobs p50 / p95 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for workers, r in results.items():
        print(
            f"| {workers} | {r['wall']:.1f} | {r['ideal']:.1f} | {r['ideal'] / r['wall']:.2f} "
            f"| {1000 * r['inside_p50']:.0f} / {1000 * r['inside_p95']:.0f} "
            f"| {1000 * r['between_p50']:.0f} / {1000 * r['between_p95']:.0f} |"
        )
    print(f"\nOf the overhead in a job, decoding the file to 16 kHz (PyAV) takes {percentile(decode_ms, 0.5):.0f} ms "
          f"at p50 ({percentile(decode_ms, 0.95):.0f} ms p95) on these clips, measured apart; the rest is the "
          "started webhook, the fetch from storage, progress and cancel checks in Redis.")  # fmt: skip
    speedup = results[1]["wall"] / results[2]["wall"]
    print(f"\n2 workers vs 1: {speedup:.2f}× the throughput, on {cores} cores. Each worker gets cores / workers "
          "threads, so on 2 cores two workers share the same CPU one worker had: more than 1× is not to be had "
          "here (the 1.8× target needs a core per worker to spare).")  # fmt: skip


if __name__ == "__main__":
    main()
