"""The two STT engines on the same weights (Whisper base, the default): the same text in English and German, the
same callback contract; tiny.en's English-only handling; and a worker with STT_ENGINE=openai-whisper through the
real stack (upload, progress, cancel)."""

import json
import time
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt
import pytest
import whisper.audio
from redis import Redis
from rq import Queue

from audio.decode import STT_SAMPLE_RATE, decode_for_stt
from samples.recordings import CACHE_DIR, SPEC_FILE, ground_truth
from schemas.analysis import Segment
from stt.faster_whisper_engine import FasterWhisperEngine
from stt.models import BASE, TINY_EN
from stt.openai_whisper_checkpoint import find_model
from stt.openai_whisper_engine import OpenAIWhisperEngine
from tests.conftest import JFK, SAMPLE_NAMES, SAMPLES, clip, needs_jfk, reference_text, word_error_rate
from tests.integration.conftest import Stack
from tests.integration.test_live_results import kinds, read_events

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEECH = ["short_english", pytest.param(JFK.name, marks=needs_jfk)]
"""About 11 s of one speaker: the generated recording always, real speech where ../shared is."""
CLIPS = [*SAMPLE_NAMES, *SPEECH, "german"]
MAX_WER_BETWEEN_ENGINES = 0.1

Audio = npt.NDArray[np.float32]


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where base is joined and both models are converted for openai-whisper, once for the module."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def engines(data_dir: Path) -> tuple[FasterWhisperEngine, OpenAIWhisperEngine]:
    """Both engines on Whisper base at the same precision (openai-whisper computes in float32 on a CPU; with int8,
    faster-whisper's default, texts differ in both engines alike: on tiny.en weather.mp3 read "The weather will be"
    where float32 read "But whether we'll be"). One thread each, so that the timings do not depend on what else the
    machine runs.
    """
    model = find_model(BASE, data_dir)
    return (
        FasterWhisperEngine(model, "cpu", "float32", cpu_threads=1, beam_size=1),
        OpenAIWhisperEngine(model, "cpu", cpu_threads=1, beam_size=1, data_dir=data_dir),
    )


@pytest.fixture(scope="module")
def tiny_en(data_dir: Path) -> OpenAIWhisperEngine:
    """openai-whisper on tiny.en, English only."""
    return OpenAIWhisperEngine(find_model(TINY_EN, data_dir), "cpu", cpu_threads=1, beam_size=1, data_dir=data_dir)


def spoken_language(path: Path) -> str:
    """The language a clip speaks: a generated recording's (one language each), else English."""
    return str(ground_truth(path)["parts"][0]["language"]) if path.parent == CACHE_DIR else "en"


@pytest.fixture
def no_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    """openai-whisper's own audio loader runs the ffmpeg binary: it must never be reached."""

    def run(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"openai-whisper ran a program: {args}")

    monkeypatch.setattr(whisper.audio, "run", run)


def samples_in_a_row(times: int) -> Audio:
    """The six samples one after another, `times` over: 33 s each time (one 30-second window and a bit).

    Not one clip over and over: text that repeats within a window makes Whisper fall back to sampling at higher
    temperatures (its compression-ratio check), which costs openai-whisper several decodes of that window.
    """
    return np.tile(np.concatenate([decode_for_stt(SAMPLES / name) for name in SAMPLE_NAMES]), times)


def write_wav(path: Path, audio: Audio) -> Path:
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=STT_SAMPLE_RATE, layout="mono")
        samples = (np.clip(audio, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = STT_SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


@pytest.mark.usefixtures("no_ffmpeg")
@pytest.mark.parametrize("name", CLIPS)
def test_both_engines_transcribe_to_nearly_the_same_text(
    engines: tuple[FasterWhisperEngine, OpenAIWhisperEngine], name: str, record_property: Any
) -> None:
    faster, openai = engines
    path = clip(name)
    audio = decode_for_stt(path)

    a, b = faster.transcribe(audio), openai.transcribe(audio)

    between = word_error_rate(a.text, b.text)
    record_property("wer_between_engines", round(between, 3))
    reference = reference_text(path)
    print(
        f"\n{name}: WER between engines {between:.3f}; against the reference: faster-whisper "
        f"{word_error_rate(reference, a.text):.3f}, openai-whisper {word_error_rate(reference, b.text):.3f}; "
        f"language {a.language} {a.language_probability} / {b.language} {b.language_probability}\n"
        f"  faster-whisper: {a.text}\n  openai-whisper: {b.text}"
    )
    assert between <= MAX_WER_BETWEEN_ENGINES, (a.text, b.text)
    assert word_error_rate(reference, b.text) <= 0.25, b.text
    assert a.language == b.language == spoken_language(path)
    assert b.language_probability is not None
    assert b.language_probability > 0.5
    assert (b.model, b.duration) == (BASE, round(len(audio) / STT_SAMPLE_RATE, 3))
    assert b.segments
    assert all(0 <= s.start <= s.end <= b.duration + 0.5 and s.text and s.words is None for s in b.segments)


@pytest.mark.usefixtures("no_ffmpeg")
def test_both_engines_translate_german_into_the_same_english(
    engines: tuple[FasterWhisperEngine, OpenAIWhisperEngine],
) -> None:
    path = clip("german")
    audio = decode_for_stt(path)
    parts = json.loads(SPEC_FILE.read_text(encoding="utf-8"))["german"]["parts"]
    translation = " ".join(part["translation"] for part in parts)

    a, b = (engine.transcribe(audio, task="translate") for engine in engines)

    print(f"\ngerman, translated: {b.text}\n  WER against {translation!r}: {word_error_rate(translation, b.text):.3f}")
    assert word_error_rate(a.text, b.text) <= MAX_WER_BETWEEN_ENGINES, (a.text, b.text)
    assert word_error_rate(translation, b.text) <= 0.5, b.text  # espeak's German, Whisper base: loosely
    assert word_error_rate(reference_text(path), b.text) > 0.9, b.text  # not the German
    assert b.language == "de"
    assert b.engine is not None
    assert b.engine.task == "translate"


@pytest.mark.usefixtures("no_ffmpeg")
def test_on_segment_comes_window_by_window_and_an_exception_stops_decoding(
    engines: tuple[FasterWhisperEngine, OpenAIWhisperEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    openai = engines[1]
    audio = samples_in_a_row(1)  # 33 s: two windows
    decodes: list[int] = []  # each call of the model's decode: once per window and temperature tried
    decode = openai.model.decode
    monkeypatch.setattr(openai.model, "decode", lambda *args, **kwargs: decodes.append(1) or decode(*args, **kwargs))
    arrivals: list[tuple[int, Segment]] = []  # each segment, with the decodes done when it arrived

    result = openai.transcribe(audio, on_segment=lambda s: arrivals.append((len(decodes), s)))

    assert [s for _, s in arrivals] == result.segments
    first_window = [done for done, s in arrivals if s.end <= 30]
    assert 0 < len(first_window) < len(arrivals)
    assert max(first_window) < len(decodes)  # handed over before the last window was decoded
    every_decode = len(decodes)

    def stop_at_once(segment: Segment) -> None:
        raise Stop(segment.text)

    decodes.clear()
    with pytest.raises(Stop):
        openai.transcribe(audio, on_segment=stop_at_once)
    assert len(decodes) == max(first_window) < every_decode  # nothing decoded after the exception


@pytest.mark.usefixtures("no_ffmpeg")
@pytest.mark.parametrize(
    ("model", "name", "language"),
    [
        (BASE, "short_english", "en"),
        (BASE, "german", "de"),
        (TINY_EN, "short_english", "de"),  # English only: the language asked for cannot apply
        pytest.param(TINY_EN, JFK.name, "de", marks=needs_jfk),
    ],
)
def test_word_timestamps_prompt_and_language(
    model: str, name: str, language: str, request: pytest.FixtureRequest
) -> None:
    openai: OpenAIWhisperEngine = (
        request.getfixturevalue("engines")[1] if model == BASE else request.getfixturevalue("tiny_en")
    )
    path = clip(name)
    audio = decode_for_stt(path)

    result = openai.transcribe(audio, word_timestamps=True, prompt="A short speech.", language=language)

    assert (result.language, result.language_probability, result.model) == (spoken_language(path), None, model)
    words = [w for s in result.segments for w in s.words or ()]
    assert " ".join(w.word.strip() for w in words) == " ".join(s.text for s in result.segments)
    assert all(w.start <= w.end for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert word_error_rate(reference_text(path), result.text) <= 0.25, result.text
    # the speech ends 0.4 s (german, short_english) or 1 s (jfk.flac) before the clip does; a broken alignment (the
    # wrong heads) squeezes words into the start
    assert words[-1].end > result.duration - 2.5


def start_openai_whisper(stack: Stack, **env: str) -> None:
    stack.env.update({"STT_ENGINE": "openai-whisper", **env})


def test_a_worker_with_openai_whisper_completes_a_job_with_progress(stack: Stack, tmp_path: Path) -> None:
    start_openai_whisper(stack)
    api = stack.api()
    stack.workers(1)
    job_id = api.upload(write_wav(tmp_path / "samples.wav", samples_in_a_row(1)))["job_id"]  # two windows

    events = read_events(api, job_id, last_event_id="0-0")

    names = kinds(events)
    assert (names[0], names[-1]) == ("status", "completed")
    progress = [json.loads(e.data) for _, e in events if e.event == "progress"]
    transcribing = [p["progress"] for p in progress if p["current_step"] == "transcribing"]
    assert transcribing == sorted(transcribing)
    assert any(0 < value < 99 for value in transcribing), transcribing  # it moved during decoding
    final = json.loads(events[-1][1].data)
    references = " ".join(reference_text(SAMPLES / name) for name in SAMPLE_NAMES)
    assert word_error_rate(references, final["result"]["text"]) <= 0.1, final["result"]["text"]
    assert (final["result"]["model"], final["result"]["engine"]["name"]) == (BASE, "openai-whisper")
    assert final["result"]["language"] == "en"
    loaded = [json.loads(line) for line in (stack.logs / "workers-stt.log").read_text().splitlines() if "{" in line]
    assert any(r.get("message") == "stt model loaded" and r.get("engine") == "openai-whisper" for r in loaded)


def test_cancel_stops_an_openai_whisper_job_between_windows(stack: Stack, tmp_path: Path) -> None:
    start_openai_whisper(stack)
    api = stack.api()
    stack.workers(1)
    job_id = api.upload(write_wav(tmp_path / "samples.wav", samples_in_a_row(4)))["job_id"]  # 133 s: 5 windows
    while api.job(job_id)["current_step"] != "transcribing":
        time.sleep(0.05)

    canceled_at = time.monotonic()
    canceled = httpx.delete(f"{api.base_url}/api/jobs/{job_id}/cancel", headers=api.headers("alice"))
    after = api.wait(api.upload(SAMPLES / "hello.wav")["job_id"])

    assert canceled.status_code == 200
    assert after["status"] == "completed"
    assert after["result"]["text"].startswith("Hello everyone")
    assert api.job(job_id)["status"] == "canceled"
    rq_job = Queue("audio_analysis", connection=Redis.from_url(stack.env["REDIS_URL"])).fetch_job(job_id)
    assert rq_job is not None
    assert rq_job.get_status() in ("stopped", "failed")  # it raised JobCanceled, not finished
    print(f"\ncancel to the next job completed: {time.monotonic() - canceled_at:.1f} s")


def test_a_missing_model_stops_the_worker_at_start_with_a_clear_error(stack: Stack, tmp_path: Path) -> None:
    start_openai_whisper(stack, STT_MODEL="small", XDG_CACHE_HOME=str(tmp_path / "empty-cache"))

    with pytest.raises(RuntimeError, match="exited with code"):
        stack.workers(1)

    log = (stack.logs / "workers-stt.log").read_text()
    assert f"cannot start: STT_MODEL=small: no {tmp_path / 'empty-cache' / 'whisper' / 'small.pt'} (models" in log
