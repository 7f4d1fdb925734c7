"""The two STT engines side by side on the same weights: faster-whisper and openai-whisper (STT_ENGINE).

Both run Whisper base, the default model (and tiny.en, English only and cheap): faster-whisper from its
CTranslate2 files (int8, the default, and float32, the precision openai-whisper computes in on a CPU), openai-whisper
from the same weights converted by `stt.openai_whisper_checkpoint` (before anything is timed). Each engine runs in
a process of its own, as a worker would (beam 1, threads = cores ÷ 1 worker): how long the load takes, the process's
RSS once loaded and after every clip, and per clip the median of ROUNDS (default 3) transcriptions → real-time
factor, the word error rate against the reference text, and the WER against faster-whisper at float32 on the same
model (how differently the two engines read the same audio). Clips: the six samples, the speech clip and, for base,
the generated German recording (its language detected, as a job without a language would).

Prints Markdown tables and a one-line recommendation on stdout (progress on stderr); needs the optional install
(`make openai-whisper`). Usage: `.venv/bin/python benchmarks/engines.py`.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "back-end"))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from harness import clip_name, reference_text, speech_clip, speech_note  # noqa: E402
from stt_speed import Clip, load_clips, markdown, progress, word_error_rate  # noqa: E402

from audio.decode import decode_for_stt  # noqa: E402
from samples.recordings import recording  # noqa: E402
from stt.languages import is_english_only  # noqa: E402
from stt.models import BASE, TINY_EN  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
THREADS = os.cpu_count() or 1
"""One worker on this machine: STT_CPU_THREADS = cores ÷ WORKER_COUNT."""

WER_TOLERANCE = 0.02
"""The faster engine is recommended unless its mean WER is more than this above the other's."""

MULTILINGUAL_CLIPS = ("german",)
"""Generated recordings (samples/recordings.json) only a multilingual model runs."""


@dataclass(frozen=True)
class Engine:
    label: str
    engine: str
    compute_type: str
    model: str


ENGINES = (
    Engine("faster-whisper base int8 (default)", "faster-whisper", "int8", BASE),
    Engine("faster-whisper base float32", "faster-whisper", "float32", BASE),
    Engine("openai-whisper base float32", "openai-whisper", "float32", BASE),
    Engine("faster-whisper tiny.en float32", "faster-whisper", "float32", TINY_EN),
    Engine("openai-whisper tiny.en float32", "openai-whisper", "float32", TINY_EN),
)


@dataclass(frozen=True)
class Run:
    engine: Engine
    start_s: float
    """Importing the engine and loading the model: what a worker pays before its first job."""
    load_s: float
    """The model load alone (the engine's own `load_s`)."""
    rss_loaded_mb: float
    rss_after_mb: float
    seconds: dict[str, float]
    """Median seconds per clip."""
    texts: dict[str, str]


def clips_for(model: str) -> list[Clip]:
    """The six samples and the speech clip; for a multilingual model the German recording too."""
    clips = load_clips()
    if not is_english_only(model):
        paths = [recording(name) for name in MULTILINGUAL_CLIPS]
        clips += [Clip(clip_name(path), decode_for_stt(path), reference_text(path)) for path in paths]
    return clips


def child(engine: str, compute_type: str, model: str, data_dir: str) -> None:
    """In a fresh process: load one engine, transcribe every clip ROUNDS times, print the figures as JSON."""
    import psutil

    clips = clips_for(model)
    started = time.perf_counter()
    loaded: object
    if engine == "openai-whisper":
        from stt.openai_whisper_checkpoint import find_model
        from stt.openai_whisper_engine import OpenAIWhisperEngine

        ref = find_model(model, Path(data_dir))
        loaded = OpenAIWhisperEngine(ref, "cpu", THREADS, beam_size=1, data_dir=Path(data_dir))
    else:
        from stt.faster_whisper_engine import FasterWhisperEngine
        from stt.models import resolve_model

        loaded = FasterWhisperEngine(resolve_model(model, Path(data_dir)), "cpu", compute_type, THREADS, beam_size=1)
    start_s = time.perf_counter() - started
    rss_loaded = psutil.Process().memory_info().rss / 2**20
    transcribe = loaded.transcribe  # type: ignore[attr-defined]
    transcribe(clips[0].audio)  # warm-up: the first call pays one-off allocations
    seconds, texts = {}, {}
    for clip in clips:
        times = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            texts[clip.name] = transcribe(clip.audio).text
            times.append(time.perf_counter() - began)
        seconds[clip.name] = statistics.median(times)
    figures = {
        "start_s": start_s,
        "load_s": loaded.load_s,  # type: ignore[attr-defined]
        "rss_loaded_mb": rss_loaded,
        "rss_after_mb": psutil.Process().memory_info().rss / 2**20,
        "seconds": seconds,
        "texts": texts,
    }
    print(json.dumps(figures))


def measure(engine: Engine, data_dir: Path) -> Run:
    args = [sys.executable, __file__, "--child", engine.engine, engine.compute_type, engine.model, str(data_dir)]
    done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=1800)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    run = Run(engine=engine, **figures)
    progress(f"  {engine.label}: load {run.load_s:.2f} s, RSS {run.rss_after_mb:.0f} MB")
    return run


def convert(model: str, data_dir: Path) -> None:
    """`model` joined (base) and converted for openai-whisper into `data_dir`, before anything is timed."""
    from stt.openai_whisper_checkpoint import checkpoint_of, find_model

    started = time.perf_counter()
    path = checkpoint_of(find_model(model, data_dir), data_dir)
    took = time.perf_counter() - started
    progress(f"converted {model} for openai-whisper in {took:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")


def median_rtf(run: Run, durations: dict[str, float]) -> float:
    return statistics.median(run.seconds[name] / durations[name] for name in run.seconds)


def wers(run: Run, references: dict[str, str]) -> list[float]:
    return [word_error_rate(references[name], text) for name, text in run.texts.items()]


def float32_of(run: Run, runs: list[Run]) -> Run:
    """faster-whisper at float32 on the model `run` runs: what openai-whisper should read alike."""
    return next(
        r
        for r in runs
        if (r.engine.engine, r.engine.compute_type, r.engine.model) == ("faster-whisper", "float32", run.engine.model)
    )


def main() -> None:
    began = time.perf_counter()
    progress(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {THREADS} threads per engine")
    clips = clips_for(BASE)
    durations = {clip.name: clip.seconds for clip in clips}
    references = {clip.name: clip.reference for clip in clips}
    speech = load_clips()[-1].name  # jfk.flac, or without ../shared the generated short_english
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as data_dir:
        for model in dict.fromkeys(engine.model for engine in ENGINES):
            convert(model, Path(data_dir))
        runs = [measure(engine, Path(data_dir)) for engine in ENGINES]
    default, openai = runs[0], next(r for r in runs if (r.engine.engine, r.engine.model) == ("openai-whisper", BASE))

    header = ["engine", "start s", "load s", "RSS loaded MB", "RSS after MB", "median RTF", f"RTF {speech}"]
    header += ["mean WER", "max WER", "WER vs faster float32 (mean)"]
    rows = [
        [
            run.engine.label,
            f"{run.start_s:.2f}",
            f"{run.load_s:.2f}",
            f"{run.rss_loaded_mb:.0f}",
            f"{run.rss_after_mb:.0f}",
            f"{median_rtf(run, durations):.3f}",
            f"{run.seconds[speech] / durations[speech]:.3f}",
            f"{statistics.mean(wers(run, references)):.3f}",
            f"{max(wers(run, references)):.3f}",
            f"{statistics.mean(wers(run, float32_of(run, runs).texts)):.3f}",
        ]
        for run in runs
    ]
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("faster-whisper", "ctranslate2", "openai-whisper", "torch")
    )
    print(f"{versions}; {THREADS} threads, beam 1, median of {ROUNDS} rounds.")
    print(f"Clips: the six samples, {speech_note(speech_clip())} and, on base, {', '.join(MULTILINGUAL_CLIPS)}.\n")
    print(markdown(header, rows))
    print()
    openai_runs = [r for r in runs if r.engine.engine == "openai-whisper"]
    clip_header = ["clip", "audio s", *(f"RTF {r.engine.label}" for r in runs)]
    clip_header += [*(f"WER {r.engine.label}" for r in runs)]
    clip_header += [f"WER openai vs faster float32, {r.engine.model}" for r in openai_runs]
    clip_rows = [
        [name, f"{durations[name]:.1f}"]
        + [f"{r.seconds[name] / durations[name]:.3f}" if name in r.texts else "-" for r in runs]
        + [f"{word_error_rate(references[name], r.texts[name]):.3f}" if name in r.texts else "-" for r in runs]
        + [
            f"{word_error_rate(float32_of(r, runs).texts[name], r.texts[name]):.3f}" if name in r.texts else "-"
            for r in openai_runs
        ]
        for name in durations
    ]
    print(markdown(clip_header, clip_rows))
    print()
    print(recommendation(default, openai, durations, references))
    progress(f"done in {time.perf_counter() - began:.0f} s, load average {os.getloadavg()[0]:.2f}")


def recommendation(faster: Run, openai: Run, durations: dict[str, float], references: dict[str, str]) -> str:
    """The quicker engine, unless it reads the clips worse by more than WER_TOLERANCE."""

    def mean_wer(run: Run) -> float:
        return statistics.mean(wers(run, references))

    quicker, slower = sorted((faster, openai), key=lambda run: median_rtf(run, durations))
    if mean_wer(quicker) > mean_wer(slower) + WER_TOLERANCE:
        quicker, slower = slower, quicker
    fast, slow = median_rtf(quicker, durations), median_rtf(slower, durations)
    return (
        f"Recommended default: STT_ENGINE={quicker.engine.engine} ({quicker.engine.label}): {slow / fast:.1f}x "
        f"the speed of {slower.engine.label} (median RTF {fast:.3f} vs {slow:.3f}), load {quicker.load_s:.2f} s "
        f"vs {slower.load_s:.2f} s, RSS {quicker.rss_after_mb:.0f} MB vs {slower.rss_after_mb:.0f} MB, "
        f"mean WER {mean_wer(quicker):.3f} vs {mean_wer(slower):.3f}."
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:6])
    else:
        main()
