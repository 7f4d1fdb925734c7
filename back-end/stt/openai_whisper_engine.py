"""openai-whisper (PyTorch) engine, the optional second engine (`STT_ENGINE=openai-whisper`).

Installed apart from the core requirements (`make openai-whisper`: requirements-openai-whisper.txt, CPU torch).
By default it runs the same weights as faster-whisper: the bundled tiny.en, converted once into DATA_DIR by
`stt.openai_whisper_checkpoint`. `STT_MODEL` may also name one of openai-whisper's models (`small`, `base.en`, …)
already downloaded into its cache (`$XDG_CACHE_HOME/whisper`, else `~/.cache/whisper`), or give the path of a
checkpoint file. Nothing is ever downloaded, and nothing runs the ffmpeg binary: audio arrives decoded (PyAV).

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
from core.settings import BUNDLED_MODEL
from schemas.analysis import AnalysisResult, Segment, Word
from stt.engine import SegmentCallback
from stt.openai_whisper_checkpoint import alignment_heads, ensure_bundled_checkpoint, read_bundled_config

log = logging.getLogger(__name__)

BEST_OF = 5
"""Samples per temperature when decoding falls back to sampling: faster-whisper's default, for like results."""

OMP_WAIT_POLICY = "PASSIVE"
"""torch's OpenMP threads sleep rather than spin while they wait (unless OMP_WAIT_POLICY is set). On 2 busy cores
spinning made transcription 4-6x slower (jfk.flac: 12.2 s spinning, 2.9 s passive, 2 threads, load average 6)."""

INSTALL_HINT = "STT_ENGINE=openai-whisper needs the optional install: `make openai-whisper`"


class ModelNotFound(RuntimeError):
    """Raised at load when STT_MODEL names no checkpoint on this machine (openai-whisper never downloads here)."""


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


def whisper_cache_dir() -> Path:
    """Where openai-whisper keeps the models it downloaded (its own default `download_root`)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"


def resolve_model(model: str, data_dir: Path) -> Path:
    """The checkpoint file STT_MODEL names (the bundled model is converted into `data_dir` first if need be)."""
    import whisper

    if model == BUNDLED_MODEL:
        return ensure_bundled_checkpoint(data_dir)
    if model in whisper._MODELS:  # an official name: its file in the cache, as `load_model` would have saved it
        path = whisper_cache_dir() / Path(whisper._MODELS[model]).name
        if not path.is_file():
            raise ModelNotFound(
                f"STT_MODEL={model}: no {path} (models are never downloaded here: copy the file there, "
                "or set STT_MODEL to the path of a checkpoint)"
            )
        return path
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelNotFound(
            f"STT_MODEL={model}: not {BUNDLED_MODEL} (the bundled model), not an openai-whisper model name "
            "and no such checkpoint file"
        )
    return path


def known_alignment_heads(model: str, text_layers: int, text_heads: int) -> bytes | None:
    """The alignment heads of STT_MODEL when known, for `set_alignment_heads`; None keeps openai-whisper's default."""
    import whisper

    if model == BUNDLED_MODEL:
        return alignment_heads(read_bundled_config()["alignment_heads"], text_layers, text_heads)
    heads: bytes | None = whisper._ALIGNMENT_HEADS.get(model)
    return heads


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(self, model: str, device: str, cpu_threads: int, beam_size: int, data_dir: Path) -> None:
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
        path = resolve_model(model, data_dir)
        self.model = whisper.load_model(str(path), device=device)
        heads = known_alignment_heads(model, self.model.dims.n_text_layer, self.model.dims.n_text_head)
        if heads is not None:
            self.model.set_alignment_heads(heads)
        with warnings.catch_warnings():  # its tokenizer leaves its vocabulary file to the garbage collector
            warnings.simplefilter("ignore", ResourceWarning)
            get_tokenizer(self.model.is_multilingual, num_languages=self.model.num_languages)
        self.beam_size = beam_size
        self.fp16 = device != "cpu"
        self.load_s = time.perf_counter() - started
        log.info(
            "stt model loaded",
            extra={"engine": self.name, "model": str(path), "cpu_threads": cpu_threads, "load_s": self.load_s},
        )

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        on_segment: SegmentCallback | None = None,
        word_timestamps: bool = False,
        language: str | None = None,
        prompt: str | None = None,
    ) -> AnalysisResult:
        import whisper

        if not self.model.is_multilingual and language not in (None, "en"):
            log.warning("the model is English-only: language %s ignored", language)
            language = "en"
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
            result = whisper.transcribe(
                self.model,
                audio,
                verbose=None,
                word_timestamps=word_timestamps,
                initial_prompt=prompt,
                language=language,
                beam_size=self.beam_size if self.beam_size > 1 else None,  # 1: greedy, as CTranslate2 does
                best_of=BEST_OF,
                fp16=self.fp16,
            )
        finally:
            _windows.callback = None
        return AnalysisResult(
            text=" ".join(s.text for s in segments),
            language=str(result["language"]),
            duration=round(len(audio) / STT_SAMPLE_RATE, 3),
            segments=segments,
        )


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
