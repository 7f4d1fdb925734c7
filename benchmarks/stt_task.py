"""The job of benchmarks/worker_models.py: decode and transcribe one file, nothing else (no database, no webhook).

RQ imports it by its dotted path, `benchmarks.stt_task.transcribe`. The engine is the process's (`stt.get_engine`):
in a forked work-horse whose parent never built one, that means loading the model in every job.
"""

from pathlib import Path

from audio.decode import STT_SAMPLE_RATE, decode_for_stt
from core.settings import get_settings
from stt import get_engine


def transcribe(path: str) -> float:
    """Transcribe the file at `path`; return its length in seconds."""
    audio = decode_for_stt(Path(path))
    get_engine(get_settings()).transcribe(audio)
    return len(audio) / STT_SAMPLE_RATE
