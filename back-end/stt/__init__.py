"""Speech-to-text: one engine per process, loaded once (before the first job) and reused by every job."""

import os
import threading

from core.settings import Settings
from stt.engine import SttEngine
from stt.languages import deployment_languages
from stt.models import ModelUnavailable, resolve_model

__all__ = ["ModelUnavailable", "SttEngine", "get_engine"]

_lock = threading.Lock()
_engines: dict[tuple[object, ...], SttEngine] = {}


def get_engine(settings: Settings) -> SttEngine:
    """The process's engine for these settings (STT_ENGINE, STT_MODEL, …), loading it on first use (thread-safe).

    Raises `ModelUnavailable` (or ValueError for STT_LANGUAGES) with a one-line reason when it cannot be had.
    """
    threads = settings.stt_cpu_threads or max(1, (os.cpu_count() or 1) // settings.worker_count)
    languages = deployment_languages(settings.stt_languages)
    key = (
        settings.stt_engine,
        settings.stt_model,
        settings.stt_device,
        settings.stt_compute_type,
        threads,
        settings.stt_beam_size,
        settings.stt_batch_size,
        languages,
    )
    with _lock:
        if key in _engines:
            return _engines[key]
        if settings.stt_engine == "openai-whisper":
            from stt.openai_whisper_checkpoint import find_model
            from stt.openai_whisper_engine import OpenAIWhisperEngine

            model = find_model(settings.stt_model, settings.data_dir, settings.stt_allow_download)
            _engines[key] = OpenAIWhisperEngine(
                model, settings.stt_device, threads, settings.stt_beam_size, settings.data_dir, languages
            )
        else:
            from stt.faster_whisper_engine import FasterWhisperEngine

            model = resolve_model(settings.stt_model, settings.data_dir, settings.stt_allow_download)
            _engines[key] = FasterWhisperEngine(
                model,
                settings.stt_device,
                settings.stt_compute_type,
                threads,
                settings.stt_beam_size,
                languages,
                settings.stt_batch_size,
            )
        return _engines[key]
