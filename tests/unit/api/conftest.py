"""The API in a TestClient, fakeredis as the queue: the `client` of the router tests (a module may build its own)."""

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(app_env: Path, fake_redis: fakeredis.FakeRedis) -> Iterator[TestClient]:
    from main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client
