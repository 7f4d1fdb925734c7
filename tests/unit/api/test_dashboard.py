"""`api.dashboard`, in process: rq-dashboard is not served without its credentials."""

from fastapi.testclient import TestClient


def test_the_dashboard_is_not_served_without_credentials(make_client: "type[TestClient]") -> None:
    client = make_client()

    assert client.get("/rq/").status_code == 404
