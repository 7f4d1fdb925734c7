"""`GET /api/jobs/{job_id}` in process (TestClient, fakeredis as the queue): the owner reads the job, nobody else."""

from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.unit.api.helpers import upload


def test_owner_reads_the_job_and_nobody_else_does(client: TestClient) -> None:
    job_id = upload(client, user="alice").json()["job_id"]

    mine = client.get(f"/api/jobs/{job_id}", headers=bearer("alice"))
    theirs = client.get(f"/api/jobs/{job_id}", headers=bearer("mallory"))

    assert mine.status_code == 200
    assert mine.json()["status"] == "queued"
    assert mine.json()["result"] is None
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "job_not_found"
