"""`GET /api/stt`: the served model and the choices an upload has, as STT_MODEL, STT_LANGUAGES and STT_VAD set them."""

import fakeredis
import pytest
from fastapi.testclient import TestClient

from core.settings import get_settings
from stt.languages import LANGUAGES
from tests.conftest import bearer
from tests.unit.api.helpers import live_worker


def stt_options(client: TestClient, monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    response = client.get("/api/stt", headers=bearer("alice"))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_the_default_is_base_with_every_language_by_name_translation_and_vad(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = stt_options(client, monkeypatch)

    languages = body.pop("languages")
    assert body == {"model": "base", "english_only": False, "translation": True, "vad": True, "diarization": False}
    assert isinstance(languages, list)
    assert len(languages) == len(LANGUAGES)
    names = [language["name"] for language in languages]
    assert names == sorted(names)
    assert {"code": "ko", "name": "korean"} in languages


def test_the_deployments_languages_in_their_order_and_its_vad_default(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = stt_options(client, monkeypatch, STT_LANGUAGES="KO, en,de", STT_VAD="false")

    assert body["languages"] == [
        {"code": "ko", "name": "korean"},
        {"code": "en", "name": "english"},
        {"code": "de", "name": "german"},
    ]
    assert body["vad"] is False


def test_an_english_only_model_offers_english_and_no_translation(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = stt_options(client, monkeypatch, STT_MODEL="tiny.en", STT_LANGUAGES="ko,en")

    assert body == {
        "model": "tiny.en",
        "english_only": True,
        "languages": [{"code": "en", "name": "english"}],
        "translation": False,
        "vad": True,
        "diarization": False,
    }


def test_it_needs_a_token(client: TestClient) -> None:
    response = client.get("/api/stt")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_token"


def test_diarization_is_offered_while_a_live_worker_can_do_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, fake_redis: fakeredis.FakeRedis
) -> None:
    assert stt_options(client, monkeypatch)["diarization"] is False
    live_worker(fake_redis, diarizes=True)

    assert stt_options(client, monkeypatch)["diarization"] is True
