"""`storage`: the local and S3 backends, and the server-chosen storage keys."""

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from storage import audio_key
from storage.base import ObjectNotFound
from storage.local import LocalStorage
from storage.s3 import S3Storage

PAYLOAD = b"RIFF\x00\x00\x00\x00WAVE" + bytes(range(256)) * 4
KEY = "audio/2026/01/02/job123-deadbeef.wav"
BUCKET = "uploads-test"


def local_storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


# --- local ---------------------------------------------------------------------------------------


def test_local_put_returns_a_local_url_and_stores_the_bytes(tmp_path: Path) -> None:
    storage = local_storage(tmp_path)
    url = storage.put(KEY, io.BytesIO(PAYLOAD))
    assert url == f"local://{KEY}"
    assert (tmp_path / "store" / KEY).read_bytes() == PAYLOAD
    assert not list((tmp_path / "store").rglob("*.part"))


def test_local_fetch_copies_to_the_destination(tmp_path: Path) -> None:
    storage = local_storage(tmp_path)
    url = storage.put(KEY, io.BytesIO(PAYLOAD))
    destination = tmp_path / "work" / "input.wav"
    destination.parent.mkdir()
    storage.fetch(url, destination)
    assert destination.read_bytes() == PAYLOAD
    assert (tmp_path / "store" / KEY).exists()  # a copy, not a move


def test_local_put_overwrites_an_existing_object(tmp_path: Path) -> None:
    storage = local_storage(tmp_path)
    storage.put(KEY, io.BytesIO(b"old"))
    url = storage.put(KEY, io.BytesIO(PAYLOAD))
    destination = tmp_path / "out.wav"
    storage.fetch(url, destination)
    assert destination.read_bytes() == PAYLOAD


def test_local_delete_removes_and_is_idempotent(tmp_path: Path) -> None:
    storage = local_storage(tmp_path)
    url = storage.put(KEY, io.BytesIO(PAYLOAD))
    storage.delete(url)
    assert not (tmp_path / "store" / KEY).exists()
    storage.delete(url)  # already gone: no error
    with pytest.raises(ObjectNotFound):
        storage.fetch(url, tmp_path / "out.wav")


def test_local_fetch_of_a_missing_object_raises_object_not_found(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        local_storage(tmp_path).fetch("local://audio/missing.wav", tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


def test_local_fetch_of_another_scheme_raises_object_not_found(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        local_storage(tmp_path).fetch(f"s3://{BUCKET}/{KEY}", tmp_path / "out.wav")


@pytest.mark.parametrize("key", ["../../etc/passwd", "audio/../../outside.wav", "/etc/passwd"])
def test_local_key_escaping_the_root_is_refused(tmp_path: Path, key: str) -> None:
    storage = local_storage(tmp_path)
    with pytest.raises(ValueError, match="escapes the storage root"):
        storage.put(key, io.BytesIO(PAYLOAD))
    with pytest.raises(ValueError, match="escapes the storage root"):
        storage.fetch(f"local://{key}", tmp_path / "out.wav")
    with pytest.raises(ValueError, match="escapes the storage root"):
        storage.delete(f"local://{key}")
    assert not (tmp_path / "outside.wav").exists()


# --- keys ----------------------------------------------------------------------------------------


def test_audio_key_is_made_of_server_parts_only() -> None:
    key = audio_key("0123456789abcdef", "flac", now=datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    assert re.fullmatch(r"audio/2026/03/04/0123456789abcdef-[0-9a-f]{8}\.flac", key)


def test_audio_key_never_contains_the_client_file_name() -> None:
    client_name = "../../My Secret Meeting.mp3"
    key = audio_key("job42", "wav")
    assert client_name not in key
    assert "My Secret Meeting" not in key
    assert ".." not in key
    assert key.endswith(".wav")
    assert "job42-" in key


def test_audio_keys_differ_for_the_same_job() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert audio_key("job42", "wav", now) != audio_key("job42", "wav", now)


# --- s3 ------------------------------------------------------------------------------------------


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_s3_put_returns_an_s3_url_and_stores_the_bytes(s3_client: Any) -> None:
    url = S3Storage(BUCKET, s3_client).put(KEY, io.BytesIO(PAYLOAD))
    assert url == f"s3://{BUCKET}/{KEY}"
    assert s3_client.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == PAYLOAD


def test_s3_fetch_copies_to_the_destination(s3_client: Any, tmp_path: Path) -> None:
    storage = S3Storage(BUCKET, s3_client)
    url = storage.put(KEY, io.BytesIO(PAYLOAD))
    destination = tmp_path / "input.wav"
    storage.fetch(url, destination)
    assert destination.read_bytes() == PAYLOAD


def test_s3_delete_removes_and_is_idempotent(s3_client: Any, tmp_path: Path) -> None:
    storage = S3Storage(BUCKET, s3_client)
    url = storage.put(KEY, io.BytesIO(PAYLOAD))
    storage.delete(url)
    assert s3_client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    storage.delete(url)  # already gone: no error
    with pytest.raises(ObjectNotFound):
        storage.fetch(url, tmp_path / "out.wav")


def test_s3_fetch_of_a_missing_key_raises_object_not_found(s3_client: Any, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        S3Storage(BUCKET, s3_client).fetch(f"s3://{BUCKET}/audio/missing.wav", tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("url", [f"local://{KEY}", f"s3://{BUCKET}", f"s3://{BUCKET}/", "s3:///key.wav"])
def test_s3_fetch_of_a_malformed_url_raises_object_not_found(s3_client: Any, tmp_path: Path, url: str) -> None:
    with pytest.raises(ObjectNotFound):
        S3Storage(BUCKET, s3_client).fetch(url, tmp_path / "out.wav")
