"""faster-whisper (CTranslate2) engine, on the model `stt.models.resolve_model` found (Whisper base by default).

A loaded model must not cross a fork (CTranslate2 then hangs): workers run jobs in the process that loaded it.

Language: given, it is used as it is. Otherwise faster-whisper detects it on the first 30 s of speech; when the
deployment expects only some languages (STT_LANGUAGES) and the detection settles on another, the likeliest of the
expected ones is taken from the same detection (faster-whisper scores every language) and the audio is
transcribed in it. An English-only model detects nothing: the result says so (no probability).

VAD: with `vad`, faster-whisper's Silero VAD cuts silence and noise out before Whisper sees the audio, and maps
times back. A segment's end can then stretch across a removed gap (faster-whisper issue #1119), so with VAD the
engine always asks for word timestamps, whose times map back exactly, and takes each segment's span from its
words; it returns the words only when they were asked for.

Batching (STT_BATCH_SIZE > 0, with VAD only): faster-whisper's BatchedInferencePipeline decodes that many speech
windows of up to 30 s at once, each without the text before it, with timestamps and word times as above.
"""

import functools
import logging
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from audio.decode import STT_SAMPLE_RATE
from schemas.analysis import AnalysisResult, EngineSettings, Segment, Word
from stt.engine import SegmentCallback, Task
from stt.languages import likeliest
from stt.models import ModelRef

log = logging.getLogger(__name__)


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(
        self,
        model: ModelRef,
        device: str,
        compute_type: str,
        cpu_threads: int,
        beam_size: int,
        languages: tuple[str, ...] = (),
        batch_size: int = 0,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        started = time.perf_counter()
        self.model_ref = model
        self.model = WhisperModel(model.source, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.languages = languages
        self.batch_size = batch_size
        self.batched = BatchedInferencePipeline(self.model) if batch_size else None
        self.load_s = time.perf_counter() - started
        log.info(
            "stt model loaded",
            extra={
                "model": model.name,
                "compute_type": compute_type,
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
        options = {
            "beam_size": self.beam_size,
            "vad_filter": vad,
            "word_timestamps": word_timestamps or vad,
            "initial_prompt": prompt,
            "task": task,
        }
        if self.model_ref.english_only:
            language = "en"
        transcribe = self.model.transcribe
        if self.batched is not None and vad:
            transcribe = functools.partial(
                self.batched.transcribe, batch_size=self.batch_size, without_timestamps=False
            )
        pieces, info = transcribe(audio, language=language, **options)
        probability = None
        if language is None:
            language, probability = info.language, info.language_probability
            if self.languages and language not in self.languages:
                detected = language
                language, probability = likeliest(info.all_language_probs or [], self.languages)
                log.info("detected %s, not expected here: transcribing as %s", detected, language)
                pieces, _ = transcribe(audio, language=language, **options)  # decoding is lazy: none lost
        segments = self._segments(pieces, word_timestamps, on_segment)
        return AnalysisResult(
            text=" ".join(s.text for s in segments if s.text),
            language=language,
            language_probability=None if probability is None else round(float(probability), 4),
            duration=round(len(audio) / STT_SAMPLE_RATE, 3),
            segments=segments,
            model=self.model_ref.name,
            engine=EngineSettings(
                name=self.name, compute_type=self.compute_type, beam_size=self.beam_size, vad=vad, task=task
            ),
        )

    @staticmethod
    def _segments(pieces: Iterable[Any], word_timestamps: bool, on_segment: SegmentCallback | None) -> list[Segment]:
        segments: list[Segment] = []
        for piece in pieces:  # a generator: decoding happens as we iterate
            words = [Word(start=round(w.start, 3), end=round(w.end, 3), word=w.word) for w in piece.words or ()]
            start, end = (words[0].start, words[-1].end) if words else (piece.start, piece.end)
            segment = Segment(
                start=round(start, 3),
                end=round(end, 3),
                text=piece.text.strip(),
                words=words if word_timestamps else None,
            )
            segments.append(segment)
            if on_segment is not None:
                on_segment(segment)
        return segments
