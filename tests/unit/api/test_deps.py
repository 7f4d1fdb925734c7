"""The bearer token of `api.deps`, in process: missing, malformed or forged tokens are a 401 on every route."""

import pytest
from fastapi.testclient import TestClient

from core.security import create_token
from tests.unit.api.helpers import WAV, job_rows


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic YWxpY2U6cHc="}],
    ids=["missing", "garbage", "wrong-scheme"],
)
def test_missing_or_invalid_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    for response in (
        client.post("/api/audio", headers=headers, files={"file": ("a.wav", WAV)}),
        client.get("/api/jobs/abc", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] in ("missing_token", "invalid_token")
    assert job_rows() == 0


def test_token_signed_with_another_secret_is_401(client: TestClient) -> None:
    forged = create_token(b"another-secret-entirely-0123456789abcdef", "alice")

    response = client.get("/api/jobs/abc", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
