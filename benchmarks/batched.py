"""Is faster-whisper's `BatchedInferencePipeline` worth it here? Plain `WhisperModel.transcribe` against it on a long
recording: wall time, real-time factor and word error rate.

Earlier on tiny.en (2 threads), batch 4 ran 1.4-1.7x faster than plain transcription, but on a 20-minute meeting
the WER rose from 0.065 to 0.152: the pipeline cuts the audio into chunks of its own with Silero VAD and decodes
each without the text before it (`condition_on_previous_text` does not apply). This measures it on the
project's default model.

Whisper base (`stt.models.resolve_model`), int8, beam 1, CPU threads = cores (one worker), language given ("en"),
on `meeting_20min` (samples/recordings.json: four espeak-ng voices, ~20 minutes). Configurations:

- plain `WhisperModel.transcribe`, VAD off and with `vad_filter=True` (the project turns VAD on by default);
- `BatchedInferencePipeline(model).transcribe(audio, batch_size=4 and 8)` with its defaults (`vad_filter=True`,
  `without_timestamps=True`), and the same with `without_timestamps=False`.

Bare faster-whisper, no word timestamps; then, as a second table, plain with VAD and batched 8 with word timestamps
(the project's engine asks for them whenever VAD is on; the batched defaults give one segment per VAD chunk of up
to 30 s, without them nothing finer). One process per configuration, spawned fresh (a CTranslate2 model must not
cross a fork): it loads the model, warms up on the first 30 s, then transcribes the whole recording ROUNDS times
(default 3); the table shows the median time, and the median WER (normalised as tests/conftest.py does) with its
range when rounds differ.

Verdict: use the batched pipeline only if its WER is within WER_TOLERANCE of plain transcription with VAD in the
same run; of those that are, the fastest.

Prints Markdown on stdout (progress on stderr). Usage: `.venv/bin/python benchmarks/batched.py`; RECORDING and
MODEL (defaults meeting_20min and base) pick others, e.g. for a quick check (`RECORDING=two_voices MODEL=tiny.en`).
Runs itself as `batched.py --child MODEL_DIR AUDIO JSON_CONFIG`.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from harness import machine, reference_text
from stt_speed import markdown, progress, word_error_rate

from audio.decode import STT_SAMPLE_RATE, decode_for_stt
from samples.recordings import ground_truth, recording

ROUNDS = int(os.environ.get("ROUNDS", "3"))
RECORDING = os.environ.get("RECORDING", "meeting_20min")
MODEL = os.environ.get("MODEL", "base")
THREADS = os.cpu_count() or 1
"""One worker on this machine: STT_CPU_THREADS = cores ÷ WORKER_COUNT."""
LANGUAGE = "en"
WARM_UP_S = 30
WER_TOLERANCE = 0.01
"""The batched pipeline is worth it only if its WER is at most this much above plain transcription with VAD."""


@dataclass(frozen=True)
class Config:
    label: str
    batch_size: int = 0
    """0: plain `WhisperModel.transcribe`; otherwise `BatchedInferencePipeline` with this batch size."""
    vad_filter: bool = True
    without_timestamps: bool = False
    word_timestamps: bool = False

    @property
    def batched(self) -> bool:
        return self.batch_size > 0


PLAIN = Config("plain, VAD off", vad_filter=False)
PLAIN_VAD = Config("plain, `vad_filter=True`")
CONFIGS = (
    PLAIN,
    PLAIN_VAD,
    Config("batched 4 (defaults: VAD, `without_timestamps=True`)", batch_size=4, without_timestamps=True),
    Config("batched 8 (defaults: VAD, `without_timestamps=True`)", batch_size=8, without_timestamps=True),
    Config("batched 4, `without_timestamps=False`", batch_size=4),
    Config("batched 8, `without_timestamps=False`", batch_size=8),
)
PLAIN_WORDS = Config("plain, VAD + `word_timestamps=True` (as the project's engine runs VAD)", word_timestamps=True)
WORD_CONFIGS = (
    PLAIN_WORDS,
    Config(
        "batched 8 (defaults) + `word_timestamps=True`", batch_size=8, without_timestamps=True, word_timestamps=True
    ),
)
"""The engine asks for word timestamps whenever VAD is on (segment times across removed gaps): both ways, so."""


def child(model_dir: str, audio_path: str, raw_config: str) -> None:
    """In a fresh process: load the model, warm up, transcribe ROUNDS times; print seconds and texts as JSON."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    config = Config(**json.loads(raw_config))
    audio = decode_for_stt(Path(audio_path))
    started = time.perf_counter()
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=THREADS)
    load_s = time.perf_counter() - started
    options: dict[str, Any] = {
        "language": LANGUAGE,
        "beam_size": 1,
        "vad_filter": config.vad_filter,
        "word_timestamps": config.word_timestamps,
    }
    if config.batched:
        pipeline = BatchedInferencePipeline(model)
        options |= {"batch_size": config.batch_size, "without_timestamps": config.without_timestamps}
        transcribe = pipeline.transcribe
    else:
        transcribe = model.transcribe

    def text_of(samples: Any) -> tuple[str, int]:
        segments, _ = transcribe(samples, **options)
        texts = [segment.text.strip() for segment in segments]  # a generator: decoding happens here
        return " ".join(text for text in texts if text), len(texts)

    text_of(audio[: WARM_UP_S * STT_SAMPLE_RATE])  # warm-up: the first call pays one-off allocations
    seconds, texts, segments = [], [], 0
    for _ in range(ROUNDS):
        began = time.perf_counter()
        text, segments = text_of(audio)
        seconds.append(time.perf_counter() - began)
        texts.append(text)
    print(json.dumps({"load_s": load_s, "seconds": seconds, "texts": texts, "segments": segments}))


@dataclass(frozen=True)
class Result:
    config: Config
    load_s: float
    seconds: list[float]
    wers: list[float]
    segments: int

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def wer(self) -> float:
        return statistics.median(self.wers)


def measure(config: Config, model_dir: str, audio: Path, reference: str) -> Result:
    args = [sys.executable, __file__, "--child", model_dir, str(audio), json.dumps(asdict(config))]
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=4 * 3600)
    if done.returncode != 0:
        raise RuntimeError(f"{config.label}: exit {done.returncode}\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    wers = [word_error_rate(reference, text) for text in figures["texts"]]
    result = Result(config, figures["load_s"], figures["seconds"], wers, figures["segments"])
    progress(f"  {config.label}: {result.median_s:.1f} s, WER {result.wer:.3f} ({len(result.seconds)} rounds)")
    return result


def wer_cell(result: Result) -> str:
    low, high = min(result.wers), max(result.wers)
    return f"{result.wer:.3f}" if high - low < 0.0005 else f"{result.wer:.3f} ({low:.3f}-{high:.3f})"


def table(results: list[Result], duration: float, reference: Result) -> str:
    rows = [
        [
            r.config.label,
            f"{r.median_s:.1f}",
            f"{r.median_s / duration:.3f}",
            f"{reference.median_s / r.median_s:.2f}x",
            wer_cell(r),
            f"{r.wer - reference.wer:+.3f}",
            str(r.segments),
        ]
        for r in results
    ]
    name = "plain + VAD" if reference.config == PLAIN_VAD else "plain + VAD + words"
    header = ["configuration", "wall s", "RTF", f"speed vs {name}", "WER", f"WER vs {name}", "segments"]
    return markdown(header, rows)


def verdict(results: list[Result]) -> str:
    reference = next(r for r in results if r.config == PLAIN_VAD)
    batched = [r for r in results if r.config.batched]
    keeping = [r for r in batched if r.wer <= reference.wer + WER_TOLERANCE]
    if keeping:
        best = min(keeping, key=lambda r: r.median_s)
        return (
            f"**Verdict: use BatchedInferencePipeline** ({best.config.label}): "
            f"{reference.median_s / best.median_s:.2f}x as fast as plain transcription with VAD at WER "
            f"{best.wer:.3f} against {reference.wer:.3f} "
            f"(within +{WER_TOLERANCE})."
        )
    closest = min(batched, key=lambda r: r.wer)
    fastest = min(batched, key=lambda r: r.median_s)
    return (
        f"**Verdict: keep plain `WhisperModel.transcribe`**: no batched setting keeps the WER within "
        f"+{WER_TOLERANCE} of plain with VAD ({reference.wer:.3f}); the closest, {closest.config.label}, reads "
        f"{closest.wer:.3f} (+{closest.wer - reference.wer:.3f}), while the fastest, {fastest.config.label}, is "
        f"{reference.median_s / fastest.median_s:.2f}x as fast."
    )


def main() -> None:
    began = time.perf_counter()
    load_at_start = os.getloadavg()
    progress(f"{THREADS} cores, load average {load_at_start[0]:.2f}; generating {RECORDING} if it is not cached")
    audio = recording(RECORDING)
    duration = float(ground_truth(audio)["duration"])
    reference = reference_text(audio)
    with tempfile.TemporaryDirectory(prefix="bench-batched-") as tmp:
        from stt.models import resolve_model

        model_dir = resolve_model(MODEL, Path(tmp)).source  # base: its two PyPI parts joined, before any timing
        progress(f"{MODEL} from {model_dir}; {len(CONFIGS)} configurations x {ROUNDS} rounds")
        results = [measure(config, model_dir, audio, reference) for config in CONFIGS]
        words = [measure(config, model_dir, audio, reference) for config in WORD_CONFIGS]
    load_at_end = os.getloadavg()
    print(
        f"`{RECORDING}` ({duration / 60:.1f} min, {len(reference.split())} words), Whisper {MODEL}, faster-whisper "
        f"{version('faster-whisper')}, int8, beam 1, {THREADS} threads, language given; median of {ROUNDS} rounds "
        f"per configuration, each configuration in a fresh process. {machine()}; load average "
        f"{load_at_start[0]:.2f} at the start, {load_at_end[0]:.2f} at the end ({time.perf_counter() - began:.0f} s "
        "in all).\n"
    )
    print(table(results, duration, results[CONFIGS.index(PLAIN_VAD)]))
    print()
    print(verdict(results))
    print("\nWith word timestamps, which the engine asks for whenever VAD is on:\n")
    print(table(words, duration, words[0]))
    plain, batched = words
    print(
        f"\nWith word timestamps the batched pipeline is {plain.median_s / batched.median_s:.2f}x as fast, WER "
        f"{batched.wer:.3f} against {plain.wer:.3f}."
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        main()
