"""The per-user upload rate limit of `api.rate_limit`, in process: a 429 with Retry-After past the limit."""

from fastapi.testclient import TestClient

from tests.unit.api.helpers import upload


def test_upload_rate_limit_per_user_is_429_with_retry_after(make_client: "type[TestClient]") -> None:
    client = make_client(UPLOAD_RATE_LIMIT="3/minute")

    answers = [upload(client).status_code for _ in range(4)]
    limited = upload(client)
    someone_else = upload(client, user="bob")

    assert answers == [202, 202, 202, 429]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert someone_else.status_code == 202
