"""Client callbacks on real processes: a receiver on 127.0.0.1 (allowed explicitly) gets the signed status body
of a completed and of a failed job, is retried when it fails, and every attempt shows in /deliveries; a refused
URL creates no job; BackgroundTasks mode delivers too, and a pending callback survives the API's SIGKILL."""

import base64
import itertools
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from db.engine import get_engine
from queueing.embedded_redis import free_port
from tests.conftest import SAMPLES
from tests.integration.conftest import OUTPUT, ApiClient, Stack

DEADLINE_S = 60.0
"""Watchdog for a receiver to see what it expects."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """time.time() when it arrived."""


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that answers 500 to the first `failures[path]` requests of a path, then 204."""

    failures: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(Received(self.path, dict(self.headers), body, time.time()))
                failed_before = sum(1 for r in receiver.received if r.path == self.path) - 1
                fail = failed_before < receiver.failures.get(self.path, 0)
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "4" if fail else "0")
                self.end_headers()
                if fail:
                    self.wfile.write(b"busy")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, path: str, count: int) -> list[Received]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            got = [r for r in self.received if r.path == path]
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{path}: {len(got)} of {count} callbacks within {DEADLINE_S} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def callback_env(stack: Stack, schedule: str = "[0, 1, 1, 1]") -> str:
    """Settings for a quick schedule and the receiver's address allowed; the signing secret, which tests verify."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    stack.env.update(
        CALLBACK_SIGNING_SECRET=secret,
        CALLBACK_ALLOWED_HOSTS='["127.0.0.1/32"]',
        CALLBACK_RETRY_SCHEDULE=schedule,
        CALLBACK_RETRY_JITTER="0",
        CALLBACK_POLL_INTERVAL_S="1",
    )
    return secret


def upload(api: ApiClient, sample: Path, callback_url: str, user: str = "alice") -> httpx.Response:
    with sample.open("rb") as audio:
        return httpx.post(
            f"{api.base_url}/api/audio",
            headers=api.headers(user),
            files={"file": (sample.name, audio)},
            data={"callback_url": callback_url},
            timeout=30,
        )


def deliveries(api: ApiClient, job_id: str, user: str = "alice") -> httpx.Response:
    return httpx.get(f"{api.base_url}/api/jobs/{job_id}/deliveries", headers=api.headers(user), timeout=10)


def job_count(stack: Stack) -> int:
    with get_engine(stack.env["DATABASE_URL"]).connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM jobs")).scalar_one())


def wait_for_state(api: ApiClient, job_id: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        [delivery] = deliveries(api, job_id).json()["deliveries"] or [None]
        if delivery is not None and delivery["state"] == state:
            return dict(delivery)
        time.sleep(0.05)
    raise AssertionError(f"delivery of {job_id} not {state} within {DEADLINE_S} s: {delivery}")


def test_completed_and_failed_jobs_call_back_signed_and_a_failing_receiver_is_retried(
    stack: Stack, receiver: Receiver
) -> None:
    secret = callback_env(stack)
    receiver.failures["/flaky"] = 2
    api = stack.api()
    good = upload(api, SAMPLES / "hello.wav", f"{receiver.base_url}/flaky")
    broken = upload(api, SAMPLES / "meeting.flac", f"{receiver.base_url}/broken")
    assert (good.status_code, broken.status_code) == (202, 202), (good.text, broken.text)
    good_id, broken_id = good.json()["job_id"], broken.json()["job_id"]
    stored = next((Path(stack.env["DATA_DIR"]) / "storage" / "audio").rglob(f"{broken_id}-*"))
    stored.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + bytes(8000))  # corrupted in storage: the job fails

    stack.workers(1)
    completed, failed = api.wait(good_id), api.wait(broken_id)
    flaky = receiver.wait_for("/flaky", 3)
    [failure_notice] = receiver.wait_for("/broken", 1)

    assert completed["status"] == "completed"
    assert (failed["status"], failed["error"]["code"]) == ("failed", "undecodable_audio")
    verifier = Webhook(secret)
    for request, job in [(flaky[-1], completed), (failure_notice, failed)]:
        assert verifier.verify(request.body, request.headers) == job  # the status body GET /api/jobs/{id} returns
    assert len({r.headers["webhook-id"] for r in flaky}) == 1  # one notification, retried
    assert len({r.body for r in flaky}) == 1
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + base64.b64encode(bytes(32)).decode()).verify(flaky[-1].body, flaky[-1].headers)

    shown = wait_for_state(api, good_id, "delivered")
    assert shown["webhook_id"] == flaky[0].headers["webhook-id"]
    assert [(a["attempt"], a["status_code"]) for a in shown["attempts"]] == [(1, 500), (2, 500), (3, 204)]
    assert [a["response_body"] for a in shown["attempts"]] == ["busy", "busy", None]
    assert all(a["latency_ms"] >= 0 for a in shown["attempts"])
    assert shown["attempts"][0]["next_attempt_at"] is not None
    assert shown["attempts"][-1]["next_attempt_at"] is None
    times = [datetime.fromisoformat(a["attempted_at"]).timestamp() for a in shown["attempts"]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(1.0 <= gap < 5 for gap in gaps), gaps  # the 1 s steps of the schedule
    assert wait_for_state(api, broken_id, "delivered")["event"] == "failed"
    assert deliveries(api, good_id, user="mallory").status_code == 404

    completed_at = datetime.fromisoformat(completed["completed_at"]).timestamp()
    failed_at = datetime.fromisoformat(failed["completed_at"]).timestamp()
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "callback-latency.json").write_text(
        json.dumps(
            {
                "completed_to_first_attempt_s": round(flaky[0].at - completed_at, 3),
                "failed_to_callback_s": round(failure_notice.at - failed_at, 3),
                "retry_gaps_s": [round(gap, 3) for gap in gaps],
            }
        )
    )
    assert flaky[0].at - completed_at < 2.0
    everything = "\n".join(path.read_text() for path in stack.logs.iterdir())
    assert secret not in everything
    assert secret.removeprefix("whsec_") not in everything
    assert "callback attempt" in everything  # each attempt is logged, without the secret


def test_a_refused_callback_url_is_a_400_and_no_job(stack: Stack, receiver: Receiver) -> None:
    api = stack.api()  # no allow-list: the receiver on 127.0.0.1 is not allowed

    for url in (f"{receiver.base_url}/hook", "http://169.254.169.254/latest/meta-data", "gopher://example.com/"):
        response = upload(api, SAMPLES / "hello.wav", url)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] in ("callback_url_not_allowed", "invalid_callback_url")
    assert job_count(stack) == 0
    storage = Path(stack.env["DATA_DIR"]) / "storage"
    assert not storage.exists() or not any(path.is_file() for path in storage.rglob("*"))
    assert receiver.received == []


def test_background_mode_calls_back_and_a_pending_callback_survives_the_api_s_sigkill(
    stack: Stack, receiver: Receiver
) -> None:
    secret = callback_env(stack, schedule="[0, 3]")
    receiver.failures["/hook"] = 1
    api = stack.api(USE_RQ_QUEUE="false")  # no worker at all

    accepted = upload(api, SAMPLES / "hello.wav", f"{receiver.base_url}/hook")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["queue"] == "background"
    job = api.wait(accepted.json()["job_id"])
    [first] = receiver.wait_for("/hook", 1)  # answered 500: the retry is due 3 s later
    pending = wait_for_state(api, job["job_id"], "pending")
    assert api.process is not None
    api.process.kill()  # the API dies with the retry pending in the database
    api.process.wait()

    restarted = stack.api(USE_RQ_QUEUE="false", PORT=str(free_port()))
    first_again, second = receiver.wait_for("/hook", 2)

    assert first_again is first
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == pending["webhook_id"]
    assert Webhook(secret).verify(second.body, second.headers) == job
    delivered = wait_for_state(restarted, job["job_id"], "delivered")
    assert [a["status_code"] for a in delivered["attempts"]] == [500, 204]
    assert Counter(r.path for r in receiver.received) == {"/hook": 2}


def test_nothing_is_posted_for_a_job_without_callback_url(stack: Stack, receiver: Receiver) -> None:
    callback_env(stack)
    api = stack.api(USE_RQ_QUEUE="false")

    job = api.wait(api.upload(SAMPLES / "hello.wav")["job_id"])

    assert job["status"] == "completed"
    assert deliveries(api, job["job_id"]).json() == {"job_id": job["job_id"], "callback_url": None, "deliveries": []}
    time.sleep(0.5)
    assert receiver.received == []
