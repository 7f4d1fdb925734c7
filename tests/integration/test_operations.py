"""Operations on a live stack: rq-dashboard in a real browser, and S3 storage through a real S3 server."""

import json
import secrets
from pathlib import Path

import boto3
import httpx
from moto.server import ThreadedMotoServer
from playwright.sync_api import Browser, expect

from queueing.embedded_redis import free_port
from tests.conftest import SAMPLES, reference_text, word_error_rate
from tests.integration.conftest import OUTPUT, Stack


def test_rq_dashboard_shows_queues_workers_and_failed_jobs_behind_basic_auth(stack: Stack, browser: Browser) -> None:
    password = secrets.token_urlsafe(24)
    api = stack.api(RQ_DASHBOARD_USERNAME="ops", RQ_DASHBOARD_PASSWORD=password)
    failing = api.upload(SAMPLES / "meeting.flac")["job_id"]
    stored = next((Path(stack.env["DATA_DIR"]) / "storage" / "audio").rglob(f"{failing}-*"))
    stored.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + bytes(8000))  # fails on the worker, with a traceback
    stack.workers(1, worker_id="dash-worker")
    assert api.wait(failing)["status"] == "failed"

    anonymous = httpx.get(f"{api.base_url}/rq/")
    wrong = httpx.get(f"{api.base_url}/rq/", auth=("ops", "guess"))
    right = httpx.get(f"{api.base_url}/rq/", auth=("ops", password))
    assert (anonymous.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert anonymous.headers["www-authenticate"].startswith("Basic")

    OUTPUT.mkdir(exist_ok=True)
    context = browser.new_context(
        base_url=api.base_url,
        http_credentials={"username": "ops", "password": password},
        viewport={"width": 1280, "height": 900},
    )
    try:
        page = context.new_page()
        page.goto("/rq/0/view/queues")
        expect(page.get_by_text("high_priority").first).to_be_visible(timeout=15_000)
        expect(page.get_by_text("audio_analysis").first).to_be_visible()
        page.screenshot(path=OUTPUT / "rq-dashboard-queues.png", full_page=True)
        page.goto("/rq/0/view/workers")
        expect(page.get_by_text("dash-worker").first).to_be_visible(timeout=15_000)
        page.screenshot(path=OUTPUT / "rq-dashboard-workers.png", full_page=True)
        page.goto(f"/rq/0/view/job/{failing}")
        expect(page.get_by_text("AudioDecodeError").first).to_be_visible(timeout=15_000)
        page.screenshot(path=OUTPUT / "rq-dashboard-failed-job.png", full_page=True)
    finally:
        context.close()
    assert (OUTPUT / "rq-dashboard-failed-job.png").stat().st_size > 10_000


def test_s3_storage_end_to_end(stack: Stack) -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server._port}"
        credentials = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret-key"}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
        s3.create_bucket(Bucket="recordings")
        stack.env.update(
            STORAGE_BACKEND="s3",
            S3_BUCKET="recordings",
            S3_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID=credentials["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=credentials["aws_secret_access_key"],
        )
        api = stack.api()
        stack.workers(1)

        job = api.wait(api.upload(SAMPLES / "travel.webm")["job_id"])

        assert job["status"] == "completed", job
        assert word_error_rate(reference_text(SAMPLES / "travel.webm"), job["result"]["text"]) <= 0.3
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="recordings")["Contents"]]
        assert [k for k in keys if k.startswith("audio/")] == [k for k in keys if job["job_id"] in k]
        assert not (Path(stack.env["DATA_DIR"]) / "storage").exists()  # nothing went to the local disk
    finally:
        server.stop()


def test_one_job_id_traces_through_every_log_and_no_secret_is_logged(stack: Stack) -> None:
    api = stack.api()
    stack.workers(1, worker_id="trace-worker")
    headers = {**api.headers("alice"), "X-Request-ID": "trace-req-1"}
    with (SAMPLES / "hello.wav").open("rb") as audio:
        job_id = httpx.post(f"{api.base_url}/api/audio", headers=headers, files={"file": audio}).json()["job_id"]
    api.wait(job_id)

    api_lines = [json.loads(line) for line in _log_lines(stack.logs / f"api-{stack.env['PORT']}.log")]
    worker_lines = [json.loads(line) for line in _log_lines(stack.logs / "workers-trace-worker.log")]

    accepted = [line for line in api_lines if line["message"].startswith(f"job {job_id} accepted")]
    assert accepted[0]["request_id"] == "trace-req-1"
    assert {line["message"] for line in worker_lines if job_id in line["message"]} >= {
        f"job {job_id} started, attempt 1",
        f"job {job_id} transcribed: 6.4 s of audio",
    }
    assert all(line["worker_id"] == "trace-worker" for line in worker_lines if job_id in line["message"])
    webhook = [line for line in api_lines if line.get("job_id") == job_id and line["message"] == "job event"]
    assert [line["event"] for line in webhook] == ["started", "completed"]
    everything = "\n".join(path.read_text() for path in stack.logs.iterdir())
    for secret in (stack.env["JWT_SECRET"], stack.env["WEBHOOK_SECRET"], headers["Authorization"].split()[1]):
        assert secret not in everything


def _log_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("{")]


def test_metrics_add_up_across_several_api_processes(stack: Stack, tmp_path: Path) -> None:
    from db.engine import migrate

    migrate(stack.env["DATABASE_URL"])  # once, before two processes start
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    api = stack.api(WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    stack.workers(2)

    jobs = [api.wait(api.upload(SAMPLES / "weather.mp3")["job_id"]) for _ in range(6)]
    scrapes = [httpx.get(f"{api.base_url}/metrics").text for _ in range(6)]  # served by either process

    assert [j["status"] for j in jobs] == ["completed"] * 6
    for text in scrapes:
        assert 'transcribe_jobs_finished_total{status="completed"} 6.0' in text
        assert "transcribe_job_duration_seconds_count 6.0" in text
        assert 'transcribe_queue_depth{queue="audio_analysis"} 0.0' in text
        assert "transcribe_worker_model_loads_total 2.0" in text
