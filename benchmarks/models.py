"""Whisper tiny.en (English only) against Whisper base (multilingual, the default STT_MODEL): what base costs and
what it buys, to choose the default from numbers.

Both run on faster-whisper, int8, beam 1, on the CPU. Every measurement runs in a process of its own, spawned fresh
(a CTranslate2 model must not cross a fork), which gets its engine as a worker does: `stt.get_engine(settings)`
before every transcription (resolve_model, then the model load, once).

- Speed and memory: ROUNDS (default 3) passes over tiny.en and base with 2 threads and with 1 thread, one fresh
  process each, interleaved so that a busy spell of the machine falls on all of them: start (resolve + load), the
  load alone, RSS once loaded and the peak (ru_maxrss), and after a warm-up the real-time factor of a short clip
  (jfk.flac, else the generated short_english), base detecting its language and told it, and of long_english
  (145 s). Medians over the passes. VAD off.
- Quality: the word error rate per clip and per language, base detecting the language itself; tiny.en English
  only. The language base detects, with its probability, alone and with STT_LANGUAGES=en,it.
- VAD (base, 2 threads): long_english and silence_gap (a sentence, 60 s of silence at -60 dBFS, a sentence) with
  VAD off and on, ROUNDS times, alternating: RTF, WER, the text of segments that fall in the silence, and where the
  second sentence starts against the recording's ground truth.
- Translation (base, `task="translate"`, the source language given): WER against the English `translation` of
  every part in samples/recordings.json.

Prints Markdown tables and a goal line on stdout (progress on stderr). Usage: `.venv/bin/python benchmarks/models.py`
(it runs itself as `models.py --child MODEL THREADS DATA_DIR [LANGUAGES]`, the jobs on stdin).
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from harness import JFK, SAMPLES, clip_name, median, reference_text, speech_clip, speech_note
from stt_speed import SAMPLE_NAMES, markdown, progress, word_error_rate

from audio.decode import STT_SAMPLE_RATE, decode_for_stt
from samples.recordings import CACHE_DIR, SPEC_FILE, ground_truth, recording

ROUNDS = int(os.environ.get("ROUNDS", "3"))
TINY, BASE = "tiny.en", "base"
THREADS = (2, 1)
RESTRICTED = ("en", "it")
"""STT_LANGUAGES for the restricted detection: English and one of the spoken languages."""
LANGUAGE_RECORDINGS = ("german", "spanish", "french", "italian")
GOAL_RATIO = 3.0
"""base may cost at most this many times tiny.en's time per audio second (same run)."""
START_TOLERANCE_S = 1.0
"""The second sentence of silence_gap should start within this of the ground truth; a segment whose middle lies
further than this inside the silence is text that was not said there."""


@dataclass(frozen=True)
class Job:
    """One transcription a child runs: `clip` (a path), how, and how many times (timed each time)."""

    clip: str
    task: str = "transcribe"
    language: str | None = None
    vad: bool = False
    rounds: int = 1

    @property
    def key(self) -> tuple[str, str, bool, str | None]:
        return self.clip, self.task, self.vad, self.language


def child(model: str, threads: str, data_dir: str, languages: str = "") -> None:
    """In a fresh process: get the engine as a worker does, run the jobs (JSON on stdin), print figures as JSON."""
    import psutil

    from core.settings import Settings
    from stt import get_engine
    from stt.engine import Task

    jobs = [Job(**raw) for raw in json.loads(sys.stdin.read())]
    settings = Settings(
        data_dir=Path(data_dir),
        stt_model=model,
        stt_cpu_threads=int(threads),
        stt_languages=[code for code in languages.split(",") if code],
        worker_count=1,
    )
    started = time.perf_counter()
    engine = get_engine(settings)
    start_s = time.perf_counter() - started
    rss_loaded = psutil.Process().memory_info().rss / 2**20
    decoded = {clip: decode_for_stt(Path(clip)) for clip in dict.fromkeys(job.clip for job in jobs)}
    engine.transcribe(decoded[jobs[0].clip])  # warm-up: the first call pays one-off allocations
    engines, results = {id(engine)}, []
    for job in jobs:
        times: list[float] = []
        for _ in range(job.rounds):
            began = time.perf_counter()
            engine = get_engine(settings)  # what every job does: a cached engine, or a second load
            task: Task = "translate" if job.task == "translate" else "transcribe"
            result = engine.transcribe(decoded[job.clip], language=job.language, task=task, vad=job.vad)
            times.append(time.perf_counter() - began)
            engines.add(id(engine))
        results.append(
            {
                "seconds": times,
                "text": result.text,
                "language": result.language,
                "probability": result.language_probability,
                "segments": [(s.start, s.end, s.text) for s in result.segments],
            }
        )
    figures = {
        "start_s": start_s,
        "load_s": engine.load_s,  # type: ignore[attr-defined]
        "rss_loaded_mb": rss_loaded,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loads": len(engines),
        "transcriptions": sum(job.rounds for job in jobs),
        "results": results,
    }
    print(json.dumps(figures))


@dataclass(frozen=True)
class Outcome:
    """What one child reported; `results` by `Job.key`: every run's seconds, the last run's output."""

    start_s: float
    load_s: float
    rss_loaded_mb: float
    peak_rss_mb: float
    loads: int
    transcriptions: int
    results: dict[tuple[str, str, bool, str | None], dict[str, Any]]


def run_child(model: str, threads: int, data_dir: Path, jobs: list[Job], languages: tuple[str, ...] = ()) -> Outcome:
    args = [sys.executable, __file__, "--child", model, str(threads), str(data_dir), ",".join(languages)]
    payload = json.dumps([job.__dict__ for job in jobs])
    done = subprocess.run(args, input=payload, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        progress(done.stderr[-3000:])
        raise RuntimeError(f"{model} x {threads} threads: exit {done.returncode}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    results: dict[tuple[str, str, bool, str | None], dict[str, Any]] = {}
    for job, result in zip(jobs, figures.pop("results"), strict=True):
        seen = results.setdefault(job.key, {**result, "seconds": []})
        seen.update({**result, "seconds": seen["seconds"] + result["seconds"]})
    return Outcome(**figures, results=results)


def seconds_of(path: Path) -> float:
    return len(decode_for_stt(path)) / STT_SAMPLE_RATE


def language_of(path: Path) -> str:
    """The language a clip is spoken in: a generated recording's from its sidecar, English otherwise."""
    return str(ground_truth(path)["parts"][0]["language"]) if path.parent == CACHE_DIR else "en"


def reference_translation(path: Path) -> str:
    """The English `translation` of every part of a recording, as samples/recordings.json gives them."""
    parts = json.loads(SPEC_FILE.read_text(encoding="utf-8"))[ground_truth(path)["name"]]["parts"]
    return " ".join(part["translation"] for part in parts if "text" in part)


def rtf(outcome: Outcome, job: Job, durations: dict[Path, float]) -> float:
    return float(median(outcome.results[job.key]["seconds"])) / durations[Path(job.clip)]


def text_of(outcome: Outcome, job: Job) -> str:
    return str(outcome.results[job.key]["text"])


def detected(outcome: Outcome, clip: Path) -> str:
    result = outcome.results[Job(str(clip)).key]
    probability = result["probability"]
    return f"{result['language']} ({probability:.2f})" if probability is not None else f"{result['language']} (given)"


def gap_findings(segments: list[list[Any]], truth: dict[str, Any]) -> tuple[str, str]:
    """The text Whisper put inside silence_gap's silence, and when the second sentence starts (vs the truth)."""
    first, second = truth["parts"][0], truth["parts"][-1]
    inside = [
        f"{start:.1f}–{end:.1f} s: {text}"
        for start, end, text in segments
        if first["end"] + START_TOLERANCE_S < (start + end) / 2 < second["start"] - START_TOLERANCE_S
    ]
    opening = second["text"].split()[0].strip(",.").lower()
    starts = [start for start, _, text in segments if opening in text.lower()]
    if not starts:
        return " ".join(inside) or "nothing", f"not found (truth {second['start']:.2f} s)"
    off = starts[0] - second["start"]
    verdict = "within" if abs(off) <= START_TOLERANCE_S else "OUTSIDE"
    return " ".join(inside) or "nothing", f"{starts[0]:.2f} s ({off:+.2f} s, {verdict} ±{START_TOLERANCE_S:.0f} s)"


def main() -> None:
    began = time.perf_counter()
    load_at_start = os.getloadavg()
    progress(f"{os.cpu_count()} cores, load average {load_at_start[0]:.2f}; generating and decoding clips")
    short, long_clip, gap = speech_clip(), recording("long_english"), recording("silence_gap")
    english = [*(SAMPLES / name for name in SAMPLE_NAMES), recording("short_english"), long_clip]
    english += [JFK] if JFK.exists() else []
    foreign = [recording(name) for name in LANGUAGE_RECORDINGS]
    clips = [*english, *foreign]
    durations = {path: seconds_of(path) for path in [*clips, short, gap]}
    references = {path: reference_text(path) for path in [*clips, gap]}

    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        data_dir = Path(tmp)
        from stt.models import resolve_model

        started = time.perf_counter()
        resolve_model(BASE, data_dir)  # joins base's two PyPI parts: once per DATA_DIR, before anything is timed
        join_s = time.perf_counter() - started
        progress(f"joined Whisper base into {data_dir} in {join_s:.1f} s")

        speed = {
            clip_name(short): Job(str(short)),
            f"{clip_name(short)} (language given)": Job(str(short), language="en"),
            clip_name(long_clip): Job(str(long_clip)),
        }
        passes: dict[tuple[str, int], list[Outcome]] = {}
        for round_ in range(ROUNDS):
            for model in (TINY, BASE):
                for threads in THREADS:
                    outcome = run_child(model, threads, data_dir, list(speed.values()))
                    passes.setdefault((model, threads), []).append(outcome)
                    progress(
                        f"  pass {round_ + 1}: {model} x {threads}: start {outcome.start_s:.2f} s, RTF long "
                        f"{rtf(outcome, speed[clip_name(long_clip)], durations):.3f}"
                    )

        progress("quality: tiny.en on English, base on everything, then base restricted to en,it")
        tiny = run_child(TINY, 2, data_dir, [Job(str(path)) for path in english])
        vad_jobs = [
            Job(str(path), vad=vad) for _ in range(ROUNDS) for path in (long_clip, gap) for vad in (False, True)
        ]
        translate_jobs = [Job(str(path), task="translate", language=language_of(path)) for path in foreign]
        base = run_child(BASE, 2, data_dir, [*(Job(str(path)) for path in clips), *translate_jobs, *vad_jobs])
        restricted = run_child(BASE, 2, data_dir, [Job(str(path)) for path in clips], RESTRICTED)

    def med(model: str, threads: int, figure: str) -> float:
        return float(median([getattr(outcome, figure) for outcome in passes[model, threads]]))

    def pass_rtf(model: str, threads: int, label: str) -> float:
        return float(median([rtf(outcome, speed[label], durations) for outcome in passes[model, threads]]))

    ratios = {
        (threads, label): pass_rtf(BASE, threads, label) / pass_rtf(TINY, threads, label)
        for threads in THREADS
        for label in speed
    }
    versions = ", ".join(f"{name} {version(name)}" for name in ("faster-whisper", "ctranslate2"))
    print(f"{versions}; int8, beam 1, VAD off unless named; medians of {ROUNDS} passes, a fresh process each.")
    print(f"Short clip: {speech_note(short)}; long clip: {clip_name(long_clip)} ({durations[long_clip]:.0f} s).\n")

    header = ["model", "threads", "start s", "load s", "RSS loaded MB", "peak RSS MB"]
    header += [f"RTF {label}" for label in speed]
    header += ["base ÷ tiny.en (those RTFs)"]
    rows = []
    for model in (TINY, BASE):
        for threads in THREADS:
            ratio = ", ".join(f"{ratios[threads, label]:.2f}×" for label in speed) if model == BASE else "—"
            rows.append(
                [model, str(threads)]
                + [f"{med(model, threads, name):.2f}" for name in ("start_s", "load_s")]
                + [f"{med(model, threads, name):.0f}" for name in ("rss_loaded_mb", "peak_rss_mb")]
                + [f"{pass_rtf(model, threads, label):.3f}" for label in speed]
                + [ratio]
            )
    print(markdown(header, rows))
    print(
        f"\nStart = `get_engine`: resolve_model (for base a SHA-256 check of the joined model.bin) and the load. "
        f"Base's first start in a DATA_DIR also joins its two PyPI parts: {join_s:.1f} s, once.\n"
    )

    header = ["clip", "language", "audio s", "WER tiny.en", "WER base", "base detects"]
    header += [f"base, STT_LANGUAGES={','.join(RESTRICTED)}", "its WER"]
    rows = [
        [
            clip_name(path),
            language_of(path),
            f"{durations[path]:.1f}",
            f"{word_error_rate(references[path], text_of(tiny, Job(str(path)))):.3f}" if path in english else "—",
            f"{word_error_rate(references[path], text_of(base, Job(str(path)))):.3f}",
            detected(base, path),
            detected(restricted, path),
            f"{word_error_rate(references[path], text_of(restricted, Job(str(path)))):.3f}",
        ]
        for path in clips
    ]
    print(markdown(header, rows))
    print()

    header = ["language", "clips", "mean WER tiny.en", "mean WER base"]
    rows = []
    for language in dict.fromkeys(language_of(path) for path in clips):
        spoken = [path for path in clips if language_of(path) == language]
        base_wer = statistics.mean(word_error_rate(references[p], text_of(base, Job(str(p)))) for p in spoken)
        tiny_wer = (
            f"{statistics.mean(word_error_rate(references[p], text_of(tiny, Job(str(p)))) for p in spoken):.3f}"
            if language == "en"
            else "— (English only)"
        )
        rows.append([language, str(len(spoken)), tiny_wer, f"{base_wer:.3f}"])
    print(markdown(header, rows))
    print()

    header = ["clip", "VAD", "RTF", "WER", "text inside the 60 s silence", "second sentence starts at"]
    rows = []
    for path in (long_clip, gap):
        for vad in (False, True):
            job = Job(str(path), vad=vad)
            segments = base.results[job.key]["segments"]
            inside, second = gap_findings(segments, ground_truth(path)) if path == gap else ("—", "—")
            rows.append(
                [
                    clip_name(path),
                    "on" if vad else "off",
                    f"{rtf(base, job, durations):.3f}",
                    f"{word_error_rate(references[path], text_of(base, job)):.3f}",
                    inside,
                    second,
                ]
            )
    truth = ground_truth(gap)["parts"]
    print(
        f"VAD: base, 2 threads, median of {ROUNDS} alternating runs; silence_gap's ground truth: the first sentence "
        f"ends at {truth[0]['end']:.2f} s, the second starts at {truth[-1]['start']:.2f} s.\n"
    )
    print(markdown(header, rows))
    print()

    header = ["clip", "source language (given)", "WER vs reference translation", "base's English"]
    rows = [
        [
            clip_name(Path(job.clip)),
            str(job.language),
            f"{word_error_rate(reference_translation(Path(job.clip)), text_of(base, job)):.3f}",
            text_of(base, job),
        ]
        for job in translate_jobs
    ]
    print("Translation: base, `task=translate`, against the `translation` of each part in samples/recordings.json.\n")
    print(markdown(header, rows))
    print()

    as_deployed = [label for label in speed if speed[label].language is None]  # base detects the language
    worst = max(ratios[threads, label] for threads in THREADS for label in as_deployed)
    cost = "; ".join(
        f"{threads} thread{'s' * (threads > 1)}: "
        + ", ".join(f"{ratios[threads, label]:.2f}× {label}" for label in speed)
        for threads in THREADS
    )
    met = "MET" if worst <= GOAL_RATIO and base.loads == 1 else "MISSED"
    print(
        f"Goal (base as default costs ≤ {GOAL_RATIO:.0f}× tiny.en's time per audio second, same run, and the worker "
        f"loads its model once): {met}. base ÷ tiny.en RTF: {cost} (worst as deployed, language detected: "
        f"{worst:.2f}×). One base process ran "
        f"{base.transcriptions} transcriptions through `get_engine` on {base.loads} load; its start, "
        f"{med(BASE, 2, 'start_s'):.2f} s against tiny.en's {med(TINY, 2, 'start_s'):.2f} s, is paid once per worker."
    )
    load_at_end = os.getloadavg()
    print(
        f"\nLoad average (1, 5 min) at the start {load_at_start[0]:.2f}, {load_at_start[1]:.2f}; at the end "
        f"{load_at_end[0]:.2f}, {load_at_end[1]:.2f} ({os.cpu_count()} cores)."
    )
    progress(f"done in {time.perf_counter() - began:.0f} s, load average {load_at_end[0]:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:6])
    else:
        main()
