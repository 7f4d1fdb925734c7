"""`api.errors` in process: an unknown job and an unknown route are both JSON 404s."""

from fastapi.testclient import TestClient

from tests.conftest import bearer


def test_unknown_job_and_unknown_route_are_json_404(client: TestClient) -> None:
    job = client.get("/api/jobs/0123456789abcdef", headers=bearer("alice"))
    route = client.get("/nowhere")

    assert (job.status_code, job.json()["error"]["code"]) == (404, "job_not_found")
    assert (route.status_code, route.json()["error"]["code"]) == (404, "not_found")
