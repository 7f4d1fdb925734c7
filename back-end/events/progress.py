"""A task's progress on its job's event stream: the step it is in, and how much of the recording is transcribed.

A long recording is split into chunks that several workers transcribe at once, so progress is counted for the
whole job: each chunk records in Redis how many of its seconds are done, and the job's progress is the sum over
the recording's length (capped at 99: 100 is the finished job). A Lua script does the sum and keeps the highest
value sent, so progress never goes down however the chunks' reports interleave. Reports are sent a few times a
second at most; a change of step is always sent at once.
"""

import time
from collections.abc import Callable
from typing import Any, Literal

from redis import Redis
from redis.exceptions import RedisError

from events.job_stream import STREAM_TTL_S

Step = Literal["downloading", "decoding", "transcribing", "diarizing", "delivering"]

MIN_INTERVAL_S = 0.25
"""At most four progress events a second from one task."""

_HIGHEST = "highest"
"""The field of the job's progress hash that holds the highest progress sent."""

_RECORD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local done = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if fields[i] ~= 'highest' then done = done + tonumber(fields[i + 1]) end
end
local progress = math.min(99, math.floor(100 * done / tonumber(ARGV[3])))
if progress > tonumber(redis.call('HGET', KEYS[1], 'highest') or '-1') then
  redis.call('HSET', KEYS[1], 'highest', progress)
  return progress
end
return -1
"""


def progress_key(job_id: str) -> str:
    return f"transcribe:job:{job_id}:progress"


def record_done(connection: Redis, job_id: str, chunk: int, done_s: float, total_s: float) -> int | None:
    """Note that `done_s` seconds of chunk `chunk` are transcribed; the job's progress if it rose, else None."""
    try:
        progress = int(
            connection.eval(
                _RECORD, 1, progress_key(job_id), str(chunk), f"{done_s:.3f}", f"{max(total_s, 1e-3):.3f}", STREAM_TTL_S
            )
        )
    except RedisError:
        return None  # the stream is the live view, not the record: a task never fails for it
    return progress if progress >= 0 else None


def highest(connection: Redis, job_id: str) -> int:
    """The highest progress sent for the job so far (0 before any)."""
    try:
        value = connection.hget(progress_key(job_id), _HIGHEST)
    except RedisError:
        return 0
    return int(value) if value is not None else 0


class ProgressReporter:
    """One task's reports: its step, and how far it is through its chunk (`[start_s, end_s]` of `total_s`)."""

    def __init__(
        self,
        job_id: str,
        send: Callable[[dict[str, Any]], None],
        connection: Redis,
        total_s: float,
        chunk: int = 0,
        start_s: float = 0.0,
    ) -> None:
        self.job_id = job_id
        self.send = send
        self.connection = connection
        self.total_s = total_s
        self.chunk = chunk
        self.start_s = start_s
        self.progress = 0
        self.step: Step = "transcribing" if chunk else "downloading"
        self.transcription_share = 1.0
        """The share of the chunk's work that transcription is; diarization, when asked for, is the rest."""
        self._last_sent = 0.0

    def enter(self, step: Step) -> None:
        """A new step, sent at once with the job's progress so far (another chunk's task may have moved it)."""
        self.step = step
        self.progress = max(self.progress, highest(self.connection, self.job_id))
        self._send()

    def transcribed_until(self, end_s: float) -> None:
        """A segment ending at `end_s` seconds of the recording (not of the chunk) was transcribed."""
        self._done(self.transcription_share * max(0.0, end_s - self.start_s))

    def chunk_done(self, end_s: float) -> None:
        """Everything up to `end_s` seconds of the recording is done (transcribed, and diarized if asked for)."""
        self._done(max(0.0, end_s - self.start_s))

    def _done(self, done_s: float) -> None:
        progress = record_done(self.connection, self.job_id, self.chunk, done_s, self.total_s)
        if progress is not None:
            self.progress = progress
            if time.monotonic() - self._last_sent >= MIN_INTERVAL_S:
                self._send()

    def _send(self) -> None:
        self._last_sent = time.monotonic()
        self.send({"job_id": self.job_id, "progress": self.progress, "current_step": self.step, "at": time.time()})
