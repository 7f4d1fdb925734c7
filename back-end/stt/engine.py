"""The speech-to-text interface every engine implements (faster-whisper now, openai-whisper later)."""

from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from schemas.analysis import AnalysisResult, Segment

SegmentCallback = Callable[[Segment], None]
"""Called with each segment as soon as it is decoded (progress, cancellation checks)."""


class SttEngine(Protocol):
    name: str

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        on_segment: SegmentCallback | None = None,
        word_timestamps: bool = False,
        language: str | None = None,
        prompt: str | None = None,
    ) -> AnalysisResult:
        """Transcribe 16 kHz mono float32 audio; `on_segment` may raise to stop early.

        `language` (ISO-639-1) skips detection; `prompt` guides the style and vocabulary (Whisper's initial prompt).
        """
        ...
