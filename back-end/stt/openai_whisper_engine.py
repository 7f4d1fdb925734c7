"""openai-whisper (PyTorch) engine, the optional second engine (`STT_ENGINE=openai-whisper`).

Installed apart from the core requirements (`make openai-whisper`: requirements-openai-whisper.txt, CPU torch).
It runs the same models as faster-whisper (Whisper base by default), converted once into DATA_DIR by
`stt.openai_whisper_checkpoint`, or one of openai-whisper's own models already in its cache, or a checkpoint file.
Nothing is ever downloaded, and nothing runs the ffmpeg binary: audio arrives decoded (PyAV).

Language, as in the faster-whisper engine: given, it is used as it is. Otherwise a multilingual model detects it on
the first 30 s (openai-whisper's `detect_language` scores every language); when the deployment expects only some
(STT_LANGUAGES), the likeliest of those is taken, and the result reports its probability. An English-only model
transcribes English and detects nothing (no probability).

VAD is not done by this engine: it transcribes the whole audio, and the result's settings say `vad: false`.

openai-whisper's `transcribe()` has no per-segment callback. It decodes 30-second windows and, after each, adds
that window's segments to a list and advances a tqdm progress bar. This module puts a stand-in for that progress
bar into `whisper.transcribe` which hands each window's new segments to `on_segment`; an exception raised there
leaves `transcribe()` at once, so a cancellation stops the job within one window.
"""

import importlib
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from audio.decode import STT_SAMPLE_RATE
from schemas.analysis import AnalysisResult, EngineSettings, Segment, Word
from stt.engine import SegmentCallback, Task
from stt.languages import likeliest
from stt.models import ModelRef
from stt.openai_whisper_checkpoint import INSTALL_HINT, checkpoint_of, model_alignment_heads

log = logging.getLogger(__name__)

BEST_OF = 5
"""Samples per temperature when decoding falls back to sampling: faster-whisper's default, for like results."""

OMP_WAIT_POLICY = "PASSIVE"
"""torch's OpenMP threads sleep rather than spin while they wait (unless OMP_WAIT_POLICY is set). On 2 busy cores
spinning made transcription 4-6x slower (jfk.flac: 12.2 s spinning, 2.9 s passive, 2 threads, load average 6)."""

RawSegment = dict[str, Any]
_windows = threading.local()
"""`callback`: what the transcription running on this thread does with each window's new segments."""


class _WindowFeed:
    """Stands in for `tqdm.tqdm` inside `whisper.transcribe`: after each window, hands over the new segments.

    It is built by `transcribe()` itself, so the caller's frame holds `all_segments`, the list the segments are
    appended to (never rebound); `update()` comes right after each window's segments are appended.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.segments: list[RawSegment] = sys._getframe(1).f_locals["all_segments"]
        self.seen = 0
        self.callback: Callable[[list[RawSegment]], None] | None = getattr(_windows, "callback", None)

    def __enter__(self) -> "_WindowFeed":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def update(self, frames: int) -> None:
        new, self.seen = self.segments[self.seen :], len(self.segments)
        if self.callback is not None and new:
            self.callback(new)


def _install_window_feed() -> None:
    module = importlib.import_module("whisper.transcribe")  # `whisper.transcribe` the attribute is the function
    code = module.transcribe.__code__
    if "all_segments" not in code.co_varnames or not hasattr(module, "tqdm"):
        raise RuntimeError("this openai-whisper is not the pinned one (requirements-openai-whisper.txt)")
    setattr(module, "tqdm", SimpleNamespace(tqdm=_WindowFeed))  # noqa: B010


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(
        self,
        model: ModelRef,
        device: str,
        cpu_threads: int,
        beam_size: int,
        data_dir: Path,
        languages: tuple[str, ...] = (),
    ) -> None:
        """`model` as `stt.openai_whisper_checkpoint.find_model` gives it; `languages`: STT_LANGUAGES (empty: any)."""
        os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)  # read once, when torch loads its OpenMP
        try:
            import torch
            import whisper
            from whisper.tokenizer import get_tokenizer
        except ImportError as missing:
            raise RuntimeError(f"{INSTALL_HINT} ({missing})") from missing

        _install_window_feed()
        torch.set_num_threads(cpu_threads)
        started = time.perf_counter()
        path = checkpoint_of(model, data_dir)
        self.model = whisper.load_model(str(path), device=device)
        heads = model_alignment_heads(model, self.model.dims.n_text_layer, self.model.dims.n_text_head)
        if heads is not None:
            self.model.set_alignment_heads(heads)
        with warnings.catch_warnings():  # its tokenizer leaves its vocabulary file to the garbage collector
            warnings.simplefilter("ignore", ResourceWarning)
            get_tokenizer(self.model.is_multilingual, num_languages=self.model.num_languages)
        self.model_ref = model
        self.beam_size = beam_size
        self.languages = languages
        self.fp16 = device != "cpu"
        self.load_s = time.perf_counter() - started
        log.info(
            "stt model loaded",
            extra={
                "engine": self.name,
                "model": model.name,
                "checkpoint": str(path),
                "cpu_threads": cpu_threads,
                "load_s": self.load_s,
            },
        )

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        on_segment: SegmentCallback | None = None,
        word_timestamps: bool = False,
        language: str | None = None,
        prompt: str | None = None,
        task: Task = "transcribe",
        vad: bool = False,
    ) -> AnalysisResult:
        """See `SttEngine.transcribe`; `vad` is not done by this engine: the result's settings say `vad: false`."""
        import whisper

        probability = None
        if not self.model.is_multilingual:
            if language not in (None, "en"):
                log.warning("the model is English-only: language %s ignored", language)
            language = "en"
        elif language is None:
            language, probability = self.detect_language(audio)
        segments: list[Segment] = []

        def take(window: list[RawSegment]) -> None:
            for raw in window:
                segment = _segment(raw, word_timestamps)
                if segment.text:
                    segments.append(segment)
                    if on_segment is not None:
                        on_segment(segment)

        _windows.callback = take
        try:
            whisper.transcribe(
                self.model,
                audio,
                verbose=None,
                word_timestamps=word_timestamps,
                initial_prompt=prompt,
                language=language,
                task=task,
                beam_size=self.beam_size if self.beam_size > 1 else None,  # 1: greedy, as CTranslate2 does
                best_of=BEST_OF,
                fp16=self.fp16,
            )
        finally:
            _windows.callback = None
        return AnalysisResult(
            text=" ".join(s.text for s in segments),
            language=language,
            language_probability=None if probability is None else round(probability, 4),
            duration=round(len(audio) / STT_SAMPLE_RATE, 3),
            segments=segments,
            model=self.model_ref.name,
            engine=EngineSettings(
                name=self.name,
                compute_type="float16" if self.fp16 else "float32",
                beam_size=self.beam_size,
                vad=False,
                task=task,
            ),
        )

    def detect_language(self, audio: npt.NDArray[np.float32]) -> tuple[str, float]:
        """The language spoken in the first 30 s, the likeliest of the deployment's (any when it names none), and
        its probability (as the detection gave it, over every language the model knows)."""
        import torch
        from whisper.audio import N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim

        mel = log_mel_spectrogram(audio[:N_SAMPLES], self.model.dims.n_mels, padding=N_SAMPLES)
        mel = pad_or_trim(mel, N_FRAMES).to(self.model.device).to(torch.float16 if self.fp16 else torch.float32)
        _, probabilities = self.model.detect_language(mel)
        detected = max(probabilities, key=probabilities.get)
        language, probability = likeliest(list(probabilities.items()), self.languages)
        if language != detected:
            log.info("detected %s, not expected here: transcribing as %s", detected, language)
        return language, float(probability)


def _segment(raw: RawSegment, word_timestamps: bool) -> Segment:
    words = [
        Word(start=round(float(w["start"]), 3), end=round(float(w["end"]), 3), word=str(w["word"]))
        for w in raw.get("words") or ()
    ]
    return Segment(
        start=round(float(raw["start"]), 3),
        end=round(float(raw["end"]), 3),
        text=str(raw["text"]).strip(),
        words=words if word_timestamps else None,
    )
