"""The app `main.create_app` assembles, in process: CORS only for the configured origins."""

from fastapi.testclient import TestClient


def test_cors_allows_only_the_configured_origins(make_client: "type[TestClient]") -> None:
    client = make_client(CORS_ORIGINS='["https://app.example.com"]')
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}

    allowed = client.options("/api/audio", headers={"Origin": "https://app.example.com", **preflight})
    other = client.options("/api/audio", headers={"Origin": "https://evil.example.net", **preflight})

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(make_client: "type[TestClient]") -> None:
    client = make_client()

    response = client.get("/health", headers={"Origin": "https://app.example.com"})

    assert "access-control-allow-origin" not in response.headers
