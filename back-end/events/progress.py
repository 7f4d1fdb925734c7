"""A task's progress: the step it is in, and how far through the audio decoding has come, a few times a second."""

import time
from collections.abc import Callable
from typing import Any, Literal

Step = Literal["downloading", "decoding", "transcribing", "delivering"]

MIN_INTERVAL_S = 0.25
"""At most four progress events a second; a change of step is always sent at once."""


class ProgressReporter:
    def __init__(self, job_id: str, send: Callable[[dict[str, Any]], None]) -> None:
        self.job_id = job_id
        self.send = send
        self.duration_s = 0.0
        self.progress = 0
        self.step: Step = "downloading"
        self._last_sent = 0.0

    def enter(self, step: Step) -> None:
        self.step = step
        self._send()

    def decoded_until(self, end_s: float) -> None:
        """A segment ending at `end_s` seconds was decoded; 100 is left for the finished job."""
        if self.duration_s <= 0:
            return
        progress = min(99, int(100 * end_s / self.duration_s))
        if progress > self.progress:
            self.progress = progress
            if time.monotonic() - self._last_sent >= MIN_INTERVAL_S:
                self._send()

    def _send(self) -> None:
        self._last_sent = time.monotonic()
        self.send({"job_id": self.job_id, "progress": self.progress, "current_step": self.step, "at": time.time()})
