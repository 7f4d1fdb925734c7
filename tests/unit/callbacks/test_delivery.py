"""Callback deliveries on a migrated SQLite database: planned with the terminal transition, claimed once,
attempted (httpx.MockTransport as the receiver), recorded, retried on the schedule and then given up."""

import base64
import ipaddress
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from standardwebhooks import Webhook

from callbacks.address_guard import IPAddress
from callbacks.delivery import Claim, attempt, claim_due
from callbacks.dispatcher import start_dispatcher, stop_dispatcher
from callbacks.models import CallbackAttempt, CallbackDelivery, DeliveryState
from callbacks.repository import DeliveryRepository
from core.settings import Settings, get_settings
from db.engine import get_engine, migrate, open_session
from db.models import Job, JobStatus
from schemas.analysis import AnalysisEvent, AnalysisResult, JobErrorBody
from services.job_events import record_event
from tests.conftest import SAMPLES, bearer

HOOK = "https://hooks.example.com/transcripts?tenant=7"
PUBLIC = "93.184.215.14"


@pytest.fixture
def settings(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """SQLite under DATA_DIR, or TEST_DATABASE_URL (PostgreSQL: claims race there for real) with clean tables."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        with get_engine(url).begin() as connection:
            for table in ("callback_attempts", "callback_deliveries", "jobs", "alembic_version"):
                connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CALLBACK_RETRY_SCHEDULE", "[0, 1, 2]")
    monkeypatch.setenv("CALLBACK_RETRY_JITTER", "0")
    get_settings.cache_clear()
    settings = get_settings()
    migrate(settings.sqlalchemy_url)
    return settings


def public_dns(host: str, port: int) -> list[IPAddress]:
    return [ipaddress.ip_address(PUBLIC)]


def add_job(settings: Settings, job_id: str = "job1", owner: str = "alice", callback_url: str | None = HOOK) -> None:
    with open_session(settings.sqlalchemy_url) as session:
        session.add(
            Job(
                id=job_id,
                owner_id=owner,
                status=JobStatus.STARTED,
                queue="audio_analysis",
                priority="normal",
                audio_url="local://audio/x.wav",
                audio_format="wav",
                audio_bytes=10,
                progress=50,
                retry_count=0,
                callback_url=callback_url,
                started_at=datetime.now(UTC),
            )
        )
        session.commit()


def finish(settings: Settings, job_id: str = "job1", event: str = "completed") -> None:
    with open_session(settings.sqlalchemy_url) as session:
        record_event(
            AnalysisEvent(
                job_id=job_id,
                event=event,  # type: ignore[arg-type]
                attempt=1,
                worker_id="w1",
                occurred_at=datetime.now(UTC),
                result=AnalysisResult(text="hello", language="en", duration=1.0, segments=[])
                if event == "completed"
                else None,
                error=JobErrorBody(code="undecodable_audio", message="bad") if event == "failed" else None,
            ),
            session,
            settings,
        )


def deliveries(settings: Settings, job_id: str = "job1") -> list[CallbackDelivery]:
    with open_session(settings.sqlalchemy_url) as session:
        return DeliveryRepository(session).for_job(job_id)


def make_due(settings: Settings) -> None:
    with open_session(settings.sqlalchemy_url) as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(
            update(CallbackDelivery).where(CallbackDelivery.state == "pending").values(next_attempt_at=past)
        )
        session.commit()


Handler = Callable[[httpx.Request], httpx.Response]


def answer(status: int, body: bytes = b"") -> httpx.Response:
    """A response whose body streams in, as from a real receiver (bytes content would come already read)."""
    return httpx.Response(status, content=iter([body[:700], body[700:]]))


def run_due(settings: Settings, handler: Handler) -> list[DeliveryState]:
    transport = httpx.MockTransport(handler)
    return [attempt(claim, settings, transport, public_dns) for claim in claim_due(settings, 10)]


def test_a_completed_job_with_a_callback_url_plans_one_delivery_of_its_status_body(settings: Settings) -> None:
    add_job(settings)
    add_job(settings, "job2", callback_url=None)
    finish(settings)
    finish(settings, "job2")
    finish(settings)  # a replay plans nothing more

    [planned] = deliveries(settings)
    assert deliveries(settings, "job2") == []
    assert planned.state == DeliveryState.PENDING
    assert planned.event == "completed"
    assert planned.id.startswith("msg_")
    body = json.loads(planned.payload)
    assert body["job_id"] == "job1"
    assert body["status"] == "completed"
    assert body["result"]["text"] == "hello"
    assert planned.next_attempt_at is not None
    assert planned.next_attempt_at <= datetime.now(UTC)


def test_the_receiver_gets_the_signed_body_at_the_checked_address_and_delivered_is_recorded(
    settings: Settings,
) -> None:
    add_job(settings)
    finish(settings)
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(204)

    assert run_due(settings, receiver) == [DeliveryState.DELIVERED]

    [request] = seen
    assert request.url == httpx.URL(f"https://{PUBLIC}/transcripts?tenant=7")
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    secret = settings.callback_signing_secret
    assert secret is not None
    verified = Webhook(secret.get_secret_value()).verify(request.content, dict(request.headers))
    [delivery] = deliveries(settings)
    assert verified == json.loads(delivery.payload)
    assert request.headers["webhook-id"] == delivery.id
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.next_attempt_at is None
    [only] = delivery.attempts
    assert (only.attempt, only.status_code, only.error, only.next_attempt_at) == (1, 204, None, None)
    assert run_due(settings, receiver) == []  # nothing more to do


def test_failures_are_retried_on_the_schedule_with_the_same_id_until_exhausted(settings: Settings) -> None:
    add_job(settings)
    finish(settings, event="failed")
    ids, bodies = [], []

    def failing(request: httpx.Request) -> httpx.Response:
        ids.append(request.headers["webhook-id"])
        bodies.append(request.content)
        return answer(503, b"x" * 5000)

    assert run_due(settings, failing) == [DeliveryState.PENDING]
    assert run_due(settings, failing) == []  # the retry is not due yet (1 s later)
    [delivery] = deliveries(settings)
    assert delivery.next_attempt_at is not None
    first = delivery.attempts[0]
    assert first.next_attempt_at == delivery.next_attempt_at
    assert timedelta(seconds=1) <= delivery.next_attempt_at - first.attempted_at < timedelta(seconds=2)
    assert first.response_body == "x" * 1024
    assert first.status_code == 503
    make_due(settings)
    assert run_due(settings, failing) == [DeliveryState.PENDING]
    make_due(settings)
    assert run_due(settings, failing) == [DeliveryState.EXHAUSTED]

    [delivery] = deliveries(settings)
    assert [a.attempt for a in delivery.attempts] == [1, 2, 3]
    assert delivery.attempts[-1].next_attempt_at is None
    assert delivery.next_attempt_at is None
    assert len(set(ids)) == 1
    assert len(set(bodies)) == 1
    assert json.loads(bodies[0])["error"] == {"code": "undecodable_audio", "message": "bad"}


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    add_job(settings, callback_url="https://hook-user:s3cr%40t@hooks.example.com/cb")
    finish(settings)
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(200)

    with caplog.at_level("DEBUG"):
        run_due(settings, receiver)

    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"hook-user:s3cr@t").decode()
    assert "s3cr" not in caplog.text
    assert "hook-user" not in caplog.text


def test_connection_errors_and_redirects_are_failed_attempts_and_redirects_are_not_followed(
    settings: Settings,
) -> None:
    add_job(settings)
    finish(settings)
    requests: list[httpx.Request] = []

    def refusing(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        raise httpx.ConnectError("Connection refused")

    def redirecting(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}, content=iter([b""]))

    run_due(settings, refusing)
    make_due(settings)
    run_due(settings, redirecting)

    [delivery] = deliveries(settings)
    assert delivery.state == DeliveryState.PENDING
    first, second = delivery.attempts
    assert (first.status_code, first.error) == (None, "ConnectError: Connection refused")
    assert (second.status_code, second.error) == (302, None)
    assert len(requests) == 2  # the redirect was not followed


def test_an_address_that_became_private_fails_the_delivery_without_a_request(settings: Settings) -> None:
    add_job(settings)
    finish(settings)
    requests: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: requests.append(request) or answer(200))

    def rebinding(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("169.254.169.254")]

    [claim] = claim_due(settings, 10)
    assert attempt(claim, settings, transport, rebinding) == DeliveryState.FAILED

    assert requests == []
    [delivery] = deliveries(settings)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts[0].error is not None
    assert delivery.attempts[0].error.startswith("callback_url_not_allowed")


def test_a_due_delivery_is_claimed_by_one_process_and_a_lost_claim_frees_it(settings: Settings) -> None:
    add_job(settings)
    finish(settings)

    assert len(claim_due(settings, 10)) == 1
    assert claim_due(settings, 10) == []  # held by the first claim
    later = datetime.now(UTC) + timedelta(seconds=settings.callback_timeout_s + 31)
    [reclaimed] = claim_due(settings, 10, now=later)  # that process died: its claim ran out
    assert reclaimed.attempt == 1


def test_a_claim_that_was_lost_does_not_record_its_attempt(settings: Settings) -> None:
    add_job(settings)
    finish(settings)
    [stale] = claim_due(settings, 10)
    later = datetime.now(UTC) + timedelta(seconds=settings.callback_timeout_s + 31)
    [current] = claim_due(settings, 10, now=later)
    transport = httpx.MockTransport(lambda _: answer(200))

    attempt(stale, settings, transport, public_dns)
    attempt(current, settings, transport, public_dns)

    with open_session(settings.sqlalchemy_url) as session:
        assert session.scalar(select(func.count()).select_from(CallbackAttempt)) == 1


def test_concurrent_claimers_make_each_due_attempt_once(settings: Settings) -> None:
    for number in range(5):
        add_job(settings, f"job{number}")
        finish(settings, f"job{number}")
    claims: list[Claim] = []
    lock = threading.Lock()

    def claimer() -> None:
        mine = claim_due(settings, 10)
        with lock:
            claims.extend(mine)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claim.job_id for claim in claims) == [f"job{n}" for n in range(5)]


def test_the_dispatcher_thread_delivers_what_is_due_when_woken(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    received = threading.Event()

    def attempt_here(claim: Claim, settings: Settings) -> DeliveryState:
        state = attempt(claim, settings, httpx.MockTransport(lambda _: answer(200)), public_dns)
        received.set()
        return state

    monkeypatch.setattr("callbacks.dispatcher.attempt", attempt_here)
    dispatcher = start_dispatcher(settings)
    try:
        add_job(settings)
        finish(settings)  # wakes the dispatcher
        assert received.wait(5)
    finally:
        stop_dispatcher(dispatcher)
    assert deliveries(settings)[0].state == DeliveryState.DELIVERED


@pytest.fixture
def client(
    settings: Settings, fake_redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setattr("services.dispatch.run_in_process", lambda _args: None)  # no model here
    monkeypatch.setattr("callbacks.dispatcher.claim_due", lambda settings, limit: [])  # the tests attempt themselves
    from main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def upload(client: TestClient, callback_url: str) -> httpx.Response:
    audio = (SAMPLES / "hello.wav").read_bytes()
    form = {"callback_url": callback_url}
    return client.post("/api/audio", headers=bearer("alice"), files={"file": ("a.wav", audio)}, data=form)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8000/internal/webhooks/analysis", "callback_url_not_allowed"),
        ("http://169.254.169.254/latest/meta-data", "callback_url_not_allowed"),
        ("http://localhost/hook", "callback_url_not_allowed"),
        ("http://[::ffff:10.0.0.1]/hook", "callback_url_not_allowed"),
        ("ftp://example.com/hook", "invalid_callback_url"),
    ],
)
def test_an_upload_with_a_refused_callback_url_is_a_400_and_leaves_nothing(
    client: TestClient, settings: Settings, url: str, code: str
) -> None:
    response = upload(client, url)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    with open_session(settings.sqlalchemy_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    storage = settings.data_dir / "storage"
    assert not storage.exists() or not any(path.is_file() for path in storage.rglob("*"))


def test_the_owner_reads_the_deliveries_and_nobody_else_does(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLBACK_ALLOWED_HOSTS", '["127.0.0.1"]')
    get_settings.cache_clear()
    accepted = upload(client, "http://127.0.0.1:9/hook")
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    empty = client.get(f"/api/jobs/{job_id}/deliveries", headers=bearer("alice"))
    assert empty.json() == {"job_id": job_id, "callback_url": "http://127.0.0.1:9/hook", "deliveries": []}
    finish(get_settings(), job_id)
    run_due(get_settings(), lambda _: answer(500, b"busy"))

    mine = client.get(f"/api/jobs/{job_id}/deliveries", headers=bearer("alice"))
    theirs = client.get(f"/api/jobs/{job_id}/deliveries", headers=bearer("mallory"))

    assert mine.status_code == 200
    [delivery] = mine.json()["deliveries"]
    assert delivery["state"] == "pending"
    assert delivery["next_attempt_at"] is not None
    [first] = delivery["attempts"]
    assert (first["attempt"], first["status_code"], first["response_body"]) == (1, 500, "busy")
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "job_not_found"
    assert client.get("/api/jobs/nope/deliveries", headers=bearer("alice")).status_code == 404
