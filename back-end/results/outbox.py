"""Results a worker could not deliver yet, kept in storage (beside the audio) until the API has them.

A transcription is never repeated because the API was down: the finished event waits here, and
`tasks.result_delivery` retries sending it with exponential backoff and jitter for more than ten minutes. If
even that fails, the API's reconciler finds the result here and records it itself.
"""

import io
import tempfile
from pathlib import Path

from core.settings import Settings
from schemas.analysis import AnalysisEvent
from storage import ObjectNotFound, get_storage


def result_key(job_id: str) -> str:
    return f"results/{job_id}.json"


def keep(event: AnalysisEvent, settings: Settings) -> None:
    get_storage(settings).put(result_key(event.job_id), io.BytesIO(event.model_dump_json().encode()))


def load(job_id: str, settings: Settings) -> AnalysisEvent | None:
    storage = get_storage(settings)
    with tempfile.TemporaryDirectory(prefix="outbox-") as scratch:
        path = Path(scratch) / "event.json"
        try:
            storage.fetch(storage.url(result_key(job_id)), path)
        except ObjectNotFound:
            return None
        return AnalysisEvent.model_validate_json(path.read_bytes())


def discard(job_id: str, settings: Settings) -> None:
    storage = get_storage(settings)
    storage.delete(storage.url(result_key(job_id)))
