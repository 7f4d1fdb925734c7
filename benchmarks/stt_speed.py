"""Speed and quality of the STT engine settings that matter, at engine level (no queue, no API).

For each configuration (compute type, beam size, CPU threads) this loads `FasterWhisperEngine` on the bundled
Whisper tiny.en model and transcribes every clip: the six samples in `samples/` and `../shared/audio/jfk.flac`
(where ../shared is not, the project's generated `short_english` instead: about as long, one speaker).
Per clip: the median of ROUNDS (default 3) calls to `engine.transcribe(audio)` → real-time factor (seconds of
compute per second of audio), and the word error rate against the reference text.

Then "threads per worker x workers" on this machine's cores: spawned processes, each loading its own model
(CTranslate2 must not cross a fork), transcribe that speech clip x8 between them; the throughput is audio seconds per
wall second.

Prints Markdown tables on stdout (progress on stderr). Usage: `.venv/bin/python benchmarks/stt_speed.py`.
"""

import multiprocessing as mp
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue as ProcessQueue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import jiwer
import numpy as np
import numpy.typing as npt

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "back-end"))

from harness import clip_name, reference_text, speech_clip, speech_note  # noqa: E402

from audio.decode import STT_SAMPLE_RATE, decode_for_stt  # noqa: E402
from stt.faster_whisper_engine import FasterWhisperEngine  # noqa: E402
from stt.models import TINY_EN, ModelRef, tiny_en_directory  # noqa: E402

SAMPLE_NAMES = ("hello.wav", "meeting.flac", "weather.mp3", "delivery.ogg", "reminder.m4a", "travel.webm")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
LAYOUT_CLIPS = 8
"""How many copies of the speech clip (jfk.flac or short_english) the processes of a layout share out."""

WER_TOLERANCE = 0.02
"""A cheaper setting "keeps quality" when its mean WER is at most this much above the dearer one's."""

LAYOUT_TOLERANCE = 0.05
"""Oversubscribing (2 x 2) "does better" than 2 x 1 only beyond this relative margin: the machine is noisy."""


@dataclass(frozen=True)
class Clip:
    name: str
    audio: npt.NDArray[np.float32]
    reference: str

    @property
    def seconds(self) -> float:
        return len(self.audio) / STT_SAMPLE_RATE


@dataclass(frozen=True)
class Config:
    compute_type: str
    beam_size: int
    cpu_threads: int
    compares: str

    @property
    def label(self) -> str:
        return f"{self.compute_type}, beam {self.beam_size}, {self.cpu_threads} thread{'s' * (self.cpu_threads > 1)}"


@dataclass(frozen=True)
class ClipResult:
    clip: Clip
    seconds: float
    wer: float

    @property
    def rtf(self) -> float:
        return self.seconds / self.clip.seconds


@dataclass(frozen=True)
class ConfigResult:
    config: Config
    load_s: float
    clips: list[ClipResult]

    def clip(self, name: str) -> ClipResult:
        return next(c for c in self.clips if c.clip.name == name)

    @property
    def median_rtf(self) -> float:
        return statistics.median(c.rtf for c in self.clips)

    @property
    def mean_wer(self) -> float:
        return statistics.mean(c.wer for c in self.clips)

    @property
    def worst(self) -> ClipResult:
        return max(self.clips, key=lambda c: c.wer)


@dataclass(frozen=True)
class LayoutResult:
    processes: int
    threads: int
    audio_s: float
    wall_s: float
    clip_s: float
    """Mean time one clip took inside its process (the latency a job sees)."""

    @property
    def throughput(self) -> float:
        return self.audio_s / self.wall_s


DEFAULT_2 = Config("int8", 1, 2, "default, 1 worker on 2 cores")
DEFAULT_1 = Config("int8", 1, 1, "default, 2 workers on 2 cores (threads)")
FLOAT32 = Config("float32", 1, 2, "compute type")
BEAM_5 = Config("int8", 5, 2, "beam size")
CONFIGS = (DEFAULT_2, DEFAULT_1, FLOAT32, BEAM_5)
LAYOUTS = ((1, 2), (2, 1), (2, 2))
"""(processes, threads each): 1 worker x 2 threads, 2 workers x 1 thread, and 2 x 2 (more threads than cores)."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER after lower-casing and dropping punctuation, as tests/conftest.py computes it."""

    def normalise(text: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())

    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def load_clips() -> list[Clip]:
    """The six samples, then the speech clip (`speech_clip()`): the last one is the one the layouts use."""
    paths = [*(REPO_ROOT / "samples" / name for name in SAMPLE_NAMES), speech_clip()]
    return [Clip(clip_name(p), decode_for_stt(p), reference_text(p)) for p in paths]


def load_engine(compute_type: str, beam_size: int, cpu_threads: int) -> FasterWhisperEngine:
    model = ModelRef(TINY_EN, str(tiny_en_directory()))
    return FasterWhisperEngine(
        model, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads, beam_size=beam_size
    )


def measure_config(config: Config, clips: list[Clip]) -> ConfigResult:
    engine = load_engine(config.compute_type, config.beam_size, config.cpu_threads)
    engine.transcribe(clips[0].audio)  # warm-up: the first call pays one-off allocations
    results = []
    for clip in clips:
        times, text = [], ""
        for _ in range(ROUNDS):
            started = time.perf_counter()
            text = engine.transcribe(clip.audio).text
            times.append(time.perf_counter() - started)
        results.append(ClipResult(clip, statistics.median(times), word_error_rate(clip.reference, text)))
    progress(
        f"  {config.label}: load {engine.load_s:.2f} s, median RTF {statistics.median(r.rtf for r in results):.3f}"
    )
    return ConfigResult(config, engine.load_s, results)


def layout_child(
    threads: int, clip: Path, copies: int, rounds: int, start: Barrier, done: "ProcessQueue[list[float]]"
) -> None:
    """One spawned worker: load its own model, then per round transcribe `copies` x `clip` after the barrier."""
    engine = load_engine("int8", 1, threads)
    audio = decode_for_stt(clip)
    engine.transcribe(audio)  # warm-up, as a worker is warm after its first job
    for _ in range(rounds):
        start.wait()
        times = []
        for _ in range(copies):
            started = time.perf_counter()
            engine.transcribe(audio)
            times.append(time.perf_counter() - started)
        done.put(times)


def measure_layout(processes: int, threads: int, clip: Path) -> LayoutResult:
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    done: ProcessQueue[list[float]] = ctx.Queue()
    copies = LAYOUT_CLIPS // processes
    args = (threads, clip, copies, ROUNDS, start, done)
    children = [ctx.Process(target=layout_child, args=args) for _ in range(processes)]
    for child in children:
        child.start()
    walls, clip_times = [], []
    try:
        for _ in range(ROUNDS):
            start.wait(timeout=300)  # the first round also waits for every child's model load and warm-up
            started = time.perf_counter()
            for _ in range(processes):
                clip_times.extend(done.get(timeout=300))
            walls.append(time.perf_counter() - started)
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
    audio_s = copies * processes * len(decode_for_stt(clip)) / STT_SAMPLE_RATE
    result = LayoutResult(processes, threads, audio_s, statistics.median(walls), statistics.mean(clip_times))
    progress(f"  {processes} x {threads}: {result.throughput:.1f} audio s per wall s")
    return result


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def config_table(results: list[ConfigResult]) -> str:
    speech = results[0].clips[-1].clip
    rtf = f"RTF {speech.name} ({speech.seconds:.0f} s)"
    header = ["configuration", "compares", "load s", "median RTF", rtf, "mean WER", "max WER"]
    rows = [
        [
            r.config.label,
            r.config.compares,
            f"{r.load_s:.2f}",
            f"{r.median_rtf:.3f}",
            f"{r.clip(speech.name).rtf:.3f}",
            f"{r.mean_wer:.3f}",
            f"{r.worst.wer:.3f} ({r.worst.clip.name})" if r.worst.wer else "0.000",
        ]
        for r in results
    ]
    return markdown(header, rows)


def clip_table(two: ConfigResult, one: ConfigResult) -> str:
    header = ["clip", "audio s", "2 threads s", "RTF", "1 thread s", "RTF", "WER (2 threads)", "WER (1 thread)"]
    rows = [
        [
            a.clip.name,
            f"{a.clip.seconds:.2f}",
            f"{a.seconds:.3f}",
            f"{a.rtf:.3f}",
            f"{b.seconds:.3f}",
            f"{b.rtf:.3f}",
            f"{a.wer:.3f}",
            f"{b.wer:.3f}",
        ]
        for a, b in zip(two.clips, one.clips, strict=True)
    ]
    return markdown(header, rows)


def layout_table(layouts: list[LayoutResult]) -> str:
    base = layouts[0].throughput
    header = ["processes x threads", "audio s", "wall s", "audio s per wall s", "vs 1 x 2", "mean s per clip"]
    rows = [
        [
            f"{r.processes} x {r.threads}",
            f"{r.audio_s:.0f}",
            f"{r.wall_s:.2f}",
            f"{r.throughput:.1f}",
            f"{r.throughput / base:.2f}x",
            f"{r.clip_s:.2f}",
        ]
        for r in layouts
    ]
    return markdown(header, rows)


def verdict(results: dict[Config, ConfigResult], layouts: list[LayoutResult]) -> str:
    """One line: which of the project's defaults the numbers support."""
    default, fp32, beam5 = results[DEFAULT_2], results[FLOAT32], results[BEAM_5]
    by_layout = {(r.processes, r.threads): r for r in layouts}
    split, whole = by_layout[(2, 1)], by_layout[(1, 2)]
    findings = []
    for name, cheap, dear in (("int8 over float32", default, fp32), ("beam 1 over beam 5", default, beam5)):
        faster = dear.median_rtf / cheap.median_rtf
        keeps = cheap.mean_wer <= dear.mean_wer + WER_TOLERANCE
        word = "supported" if faster >= 1 and keeps else "NOT supported"
        findings.append(f"{name} {word} ({faster:.2f}x as fast, mean WER {cheap.mean_wer:.3f} vs {dear.mean_wer:.3f})")
    gain = split.throughput / whole.throughput
    over = by_layout[(2, 2)].throughput / whole.throughput
    if gain < 1:
        word = "NOT supported"
    elif over > gain * (1 + LAYOUT_TOLERANCE):
        word = "half supported: splitting the cores beats 1 x 2, but oversubscribing did better still"
    else:
        word = "supported"
    findings.append(
        f"STT_CPU_THREADS = cores / WORKER_COUNT {word} (2 workers x 1 thread: {gain:.2f}x the audio per wall second "
        f"of 1 x 2; 2 x 2 oversubscribed: {over:.2f}x)"
    )
    return "Defaults (int8, beam 1, threads = cores / WORKER_COUNT): " + "; ".join(findings) + "."


def main() -> None:
    started = time.perf_counter()
    progress(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; decoding clips")
    speech = speech_clip()
    clips = load_clips()
    load_engine("int8", 1, 1)  # a load that is not counted: the first one also pays for the cold file cache
    results: dict[Config, ConfigResult] = {}
    for config in CONFIGS:
        progress(f"configuration {config.label}")
        results[config] = measure_config(config, clips)
    progress(f"layouts: {clip_name(speech)} x{LAYOUT_CLIPS}, spawned processes")
    layouts = [measure_layout(processes, threads, speech) for processes, threads in LAYOUTS]
    print(f"Clips: the six samples and {speech_note(speech)}.\n")
    print(config_table(list(results.values())))
    print()
    print(clip_table(results[DEFAULT_2], results[DEFAULT_1]))
    print()
    print(layout_table(layouts))
    print()
    print(verdict(results, layouts))
    progress(f"done in {time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
