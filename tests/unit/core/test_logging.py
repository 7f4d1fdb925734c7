"""`core.logging` in the API, in process: request ids echoed or made, and JSON log lines without the token."""

import json

import pytest
from fastapi.testclient import TestClient

from tests.conftest import SAMPLES, bearer

WAV = (SAMPLES / "hello.wav").read_bytes()


def test_request_ids_are_echoed_or_made(make_client: "type[TestClient]") -> None:
    client = make_client()

    given = client.get("/health", headers={"X-Request-ID": "req-123"})
    made = client.get("/health")

    assert given.headers["x-request-id"] == "req-123"
    assert len(made.headers["x-request-id"]) == 32


def test_logs_are_json_lines_with_the_job_id_and_no_token(
    make_client: "type[TestClient]", capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    headers = bearer("alice")

    job_id = client.post("/api/audio", headers={**headers, "X-Request-ID": "req-9"}, files={"file": ("a.wav", WAV)})
    err = capsys.readouterr().err

    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    accepted = [line for line in lines if "accepted" in line["message"]]
    assert accepted
    assert accepted[0]["message"].startswith(f"job {job_id.json()['job_id']} accepted")
    assert accepted[0]["request_id"] == "req-9"
    assert {"time", "level", "logger", "worker_id"} <= set(accepted[0])
    assert headers["Authorization"].split()[1] not in err
