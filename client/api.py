"""A small synchronous client of the HTTP API: upload, follow a job's event stream, fetch its transcript."""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import httpx
from httpx_sse import connect_sse

JSON = dict[str, Any]
EventHandler = Callable[[str, JSON], None]
"""Called with each event's name (`status`, `progress`, `completed`, ...) and its decoded data."""

TERMINAL_EVENTS = frozenset({"completed", "failed", "canceled"})


class ClientError(Exception):
    """A refusal from the API (its JSON `{"error": {"code", "message"}}`) or a stream that could not be kept."""

    def __init__(self, code: str, message: str, status_code: int | None = None) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.status_code = status_code


def error_of(response: httpx.Response) -> ClientError:
    """The `ClientError` an error answer stands for; a body that is not the JSON contract still says something."""
    try:
        detail = response.json()["error"]
        return ClientError(str(detail["code"]), str(detail["message"]), response.status_code)
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:200] or response.reason_phrase
        return ClientError(f"http_{response.status_code}", text, response.status_code)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _event_data(raw: str) -> JSON:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ClientError("bad_event", f"an event's data is not a JSON object: {raw[:200]!r}")
    return data


class TranscribeAPI:
    """The API at `base_url`, as the owner of `token`. Pass `transport` (e.g. `httpx.MockTransport`) in tests."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        max_reconnects: int = 5,
        reconnect_delay_s: float = 1.0,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0, read=90.0),  # a live stream sends heartbeats well within `read`
            transport=transport,
        )
        self.max_reconnects = max_reconnects
        self.reconnect_delay_s = reconnect_delay_s

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def upload(
        self,
        path: Path,
        priority: str = "normal",
        word_timestamps: bool = False,
        *,
        language: str | None = None,
        task: str = "transcribe",
        vad: bool | None = None,
        diarize: bool = False,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> JSON:
        """`POST /api/audio`: the 202 body `{job_id, status, queue, position, estimated_wait_s}`.

        `language` None lets the server detect it; `task="translate"` asks for English; `vad` None leaves skipping
        silence to the server's default (STT_VAD); `diarize` tells the speakers apart, `min_speakers` and
        `max_speakers` (None: let the diarizer count them) bound how many there are. Fields left at their defaults
        are not sent, so a server without diarization sees the form it always saw."""
        form = {"priority": priority, "word_timestamps": _flag(word_timestamps), "task": task}
        if language:
            form["language"] = language
        if vad is not None:
            form["vad"] = _flag(vad)
        if diarize:
            form["diarize"] = _flag(diarize)
        if min_speakers is not None:
            form["min_speakers"] = str(min_speakers)
        if max_speakers is not None:
            form["max_speakers"] = str(max_speakers)
        with path.open("rb") as audio:
            response = self._http.post(
                "/api/audio", files={"file": (path.name, audio, "application/octet-stream")}, data=form
            )
        if response.status_code >= 400:
            raise error_of(response)
        body: JSON = response.json()
        return body

    def follow(self, job_id: str, on_event: EventHandler) -> JSON:
        """Read the job's event stream until a terminal event and return its body (the final status body).

        A stream that ends or breaks before that is reopened with `Last-Event-ID` (the server resumes after it);
        after `max_reconnects` attempts in a row without a single event, `ClientError("stream_lost")`.
        """
        last_id = ""
        failures = 0
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            received = False
            try:
                with connect_sse(self._http, "GET", f"/api/jobs/{job_id}/events", headers=headers) as source:
                    response = source.response
                    if response.status_code >= 400:
                        response.read()
                        if response.status_code < 500:
                            raise error_of(response)
                        reason = str(error_of(response))
                    else:
                        for sse in source.iter_sse():
                            last_id = sse.id or last_id
                            if not sse.data:  # a heartbeat after an id decodes as an empty `message`: skip it
                                continue
                            received = True
                            data = _event_data(sse.data)
                            on_event(sse.event, data)
                            if sse.event in TERMINAL_EVENTS:
                                return data
                        reason = "the stream ended before the job did"
            except httpx.TransportError as exc:  # SSEError (not an event stream) is one too
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            failures = 0 if received else failures + 1
            if failures > self.max_reconnects:
                raise ClientError("stream_lost", f"lost the job's event stream {failures} times in a row: {reason}")
            time.sleep(self.reconnect_delay_s * min(failures, 5))

    def transcript(self, job_id: str, fmt: str = "txt") -> str:
        """`GET /api/jobs/{job_id}/transcript?format=...`: the transcript as text."""
        response = self._http.get(f"/api/jobs/{job_id}/transcript", params={"format": fmt})
        if response.status_code >= 400:
            raise error_of(response)
        return response.text
