"""Speech-to-text: one engine per process, loaded once and reused by every job."""

import os
import threading

from core.settings import BUNDLED_MODEL, Settings
from stt.engine import SttEngine

__all__ = ["SttEngine", "get_engine"]

_lock = threading.Lock()
_engines: dict[tuple[str, str, str, str, int, int], SttEngine] = {}


def get_engine(settings: Settings) -> SttEngine:
    """The process's engine for these settings (STT_ENGINE), loading it on first use (thread-safe)."""
    threads = settings.stt_cpu_threads or max(1, (os.cpu_count() or 1) // settings.worker_count)
    key = (
        settings.stt_engine,
        settings.stt_model,
        settings.stt_device,
        settings.stt_compute_type,
        threads,
        settings.stt_beam_size,
    )
    with _lock:
        if key in _engines:
            return _engines[key]
        if settings.stt_engine == "openai-whisper":
            from stt.openai_whisper_engine import OpenAIWhisperEngine

            _engines[key] = OpenAIWhisperEngine(
                settings.stt_model, settings.stt_device, threads, settings.stt_beam_size, settings.data_dir
            )
        else:
            from stt.faster_whisper_engine import FasterWhisperEngine, bundled_model_path

            model = str(bundled_model_path()) if settings.stt_model == BUNDLED_MODEL else settings.stt_model
            _engines[key] = FasterWhisperEngine(
                model, settings.stt_device, settings.stt_compute_type, threads, settings.stt_beam_size
            )
        return _engines[key]
