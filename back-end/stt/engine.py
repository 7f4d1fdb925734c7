"""The speech-to-text interface every engine implements (faster-whisper, openai-whisper)."""

from collections.abc import Callable
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from schemas.analysis import AnalysisResult, Segment

SegmentCallback = Callable[[Segment], None]
"""Called with each segment as soon as it is decoded (progress, cancellation checks)."""

Task = Literal["transcribe", "translate"]
"""Whisper's tasks: write down what is said, or translate it into English."""


class SttEngine(Protocol):
    name: str

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
        """Transcribe 16 kHz mono float32 audio; `on_segment` may raise to stop early.

        `language` (ISO-639-1) skips detection, which otherwise settles on the likeliest of the deployment's
        languages; `prompt` guides the style and vocabulary (Whisper's initial prompt); `task="translate"` writes
        English; `vad` skips silence and noise first (an engine that cannot says so in the result's settings).
        """
        ...
