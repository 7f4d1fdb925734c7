"""Little helpers of the task and adapter tests: audio in storage, the task's arguments, the events reported."""

import io

from core.settings import get_settings
from schemas.analysis import AnalysisEvent
from storage import get_storage
from tasks.audio_analysis import TaskArgs

Events = list[AnalysisEvent]

BROKEN_WAV = b"RIFF\x00\x00\x00\x00WAVE" + bytes(4000)


def stored(data: bytes) -> str:
    return get_storage(get_settings()).put("audio/test.wav", io.BytesIO(data))


def kinds(events: Events) -> list[tuple[str, int]]:
    return [(event.event, event.attempt) for event in events]


def args_for(audio_url: str, job_id: str = "j1") -> TaskArgs:
    return TaskArgs(job_id=job_id, audio_url=audio_url, owner_id="alice")
